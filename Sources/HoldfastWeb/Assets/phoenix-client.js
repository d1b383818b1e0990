// A small Phoenix Channels client: the JSON serializer 2.0.0 (frames are arrays
// [join_ref, ref, topic, event, payload]), heartbeats on the "phoenix" topic, reconnection and channel
// rejoins with growing delays, and pushes with replies. No dependencies, no build step.

export const SOCKET_STATES = { connecting: 0, open: 1, closing: 2, closed: 3 };

/** Delays between attempts: quick at first, then slower, never above the last step. */
export function backoff(steps) {
  return (tries) => steps[Math.min(tries, steps.length) - 1] ?? steps[steps.length - 1];
}

/** Runs a callback after a delay that depends on how many times it already ran; reset() starts over. */
class RetryTimer {
  constructor(callback, delayFor) {
    this.callback = callback;
    this.delayFor = delayFor;
    this.tries = 0;
    this.timer = null;
  }
  reset() {
    this.tries = 0;
    clearTimeout(this.timer);
    this.timer = null;
  }
  schedule() {
    clearTimeout(this.timer);
    this.tries += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.callback();
    }, this.delayFor(this.tries));
  }
}

export const serializer = {
  encode(message) {
    return JSON.stringify([message.joinRef, message.ref, message.topic, message.event, message.payload]);
  },
  decode(text) {
    const [joinRef, ref, topic, event, payload] = JSON.parse(text);
    return { joinRef, ref, topic, event, payload };
  },
};

/** One message sent to the server, waiting for its reply ("ok", "error") or for its timeout ("timeout"). */
export class Push {
  constructor(channel, event, payload, timeoutMs) {
    this.channel = channel;
    this.event = event;
    this.payload = payload;
    this.timeoutMs = timeoutMs;
    this.hooks = [];
    this.received = null;
    this.ref = null;
    this.timer = null;
    this.sent = false;
  }
  /** Calls `callback(response)` when the reply has status `status` (now, if it already came). */
  receive(status, callback) {
    if (this.received && this.received.status === status) callback(this.received.response);
    this.hooks.push({ status, callback });
    return this;
  }
  send() {
    const socket = this.channel.socket;
    this.ref = socket.makeRef();
    this.received = null;
    this.sent = true;
    this.channel.awaiting.set(this.ref, this);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle({ status: 'timeout', response: {} }), this.timeoutMs);
    socket.send({
      joinRef: this.channel.joinRef(),
      ref: this.ref,
      topic: this.channel.topic,
      event: this.event,
      payload: typeof this.payload === 'function' ? this.payload() : this.payload,
    });
  }
  settle(reply) {
    clearTimeout(this.timer);
    this.channel.awaiting.delete(this.ref);
    this.received = reply;
    for (const hook of this.hooks) if (hook.status === reply.status) hook.callback(reply.response);
  }
}

/** A topic joined over the socket. States follow Phoenix: closed, joining, joined, leaving, errored. */
export class Channel {
  constructor(topic, params, socket) {
    this.topic = topic;
    this.params = params;
    this.socket = socket;
    this.state = 'closed';
    this.bindings = [];
    this.awaiting = new Map();
    this.buffer = [];
    this.joinedOnce = false;
    this.timeoutMs = socket.timeoutMs;
    this.joinPush = new Push(this, 'phx_join', () => (typeof this.params === 'function' ? this.params() : this.params),
      this.timeoutMs);
    this.joinPush.receive('ok', () => {
      this.state = 'joined';
      this.rejoinTimer.reset();
      for (const push of this.buffer.splice(0)) push.send();
    });
    this.joinPush.receive('error', () => {
      this.state = 'errored';
      if (this.socket.isConnected()) this.rejoinTimer.schedule();
    });
    this.joinPush.receive('timeout', () => {
      this.state = 'errored';
      this.rejoinTimer.schedule();
    });
    this.rejoinTimer = new RetryTimer(() => {
      if (this.socket.isConnected()) this.rejoin();
    }, socket.rejoinAfterMs);
    this.stateHooks = [];
  }
  /** The ref of the current join (the server drops messages of an older join). */
  joinRef() {
    return this.joinPush.ref;
  }
  /** Joins; call once. The socket rejoins by itself after a reconnect or a channel error. */
  join() {
    if (this.joinedOnce) throw new Error('join() may be called once; the channel rejoins by itself');
    this.joinedOnce = true;
    this.rejoin();
    return this.joinPush;
  }
  rejoin() {
    if (this.state === 'leaving') return;
    this.state = 'joining';
    this.notifyState();
    this.joinPush.send();
  }
  leave() {
    this.state = 'leaving';
    this.rejoinTimer.reset();
    const push = new Push(this, 'phx_leave', {}, this.timeoutMs);
    push.receive('ok', () => this.closed()).receive('timeout', () => this.closed());
    if (this.socket.isConnected()) push.send(); else this.closed();
    return push;
  }
  closed() {
    this.state = 'closed';
    this.socket.remove(this);
    this.notifyState();
  }
  /** Calls `callback(payload)` for every message of `event` on this topic. */
  on(event, callback) {
    this.bindings.push({ event, callback });
  }
  /** Calls `callback(state)` whenever the channel's state changes. */
  onStateChange(callback) {
    this.stateHooks.push(callback);
  }
  notifyState() {
    for (const hook of this.stateHooks) hook(this.state);
  }
  /** Sends `event` with `payload`; buffered until the channel is joined. */
  push(event, payload, timeoutMs = this.timeoutMs) {
    const push = new Push(this, event, payload, timeoutMs);
    if (this.state === 'joined' && this.socket.isConnected()) push.send();
    else {
      this.buffer.push(push);
      if (this.buffer.length > 100) this.buffer.shift().settle({ status: 'timeout', response: {} });
    }
    return push;
  }
  /** The socket closed: replies in flight will not come; rejoin once it is back. */
  socketLost() {
    for (const push of [...this.awaiting.values()]) {
      if (push !== this.joinPush) push.settle({ status: 'error', response: { reason: 'socket closed' } });
    }
    this.awaiting.clear();
    if (this.state === 'joined' || this.state === 'joining') {
      this.state = 'errored';
      this.notifyState();
    }
    clearTimeout(this.joinPush.timer);
    this.rejoinTimer.reset();
  }
  socketOpened() {
    if (this.state === 'errored' || this.state === 'joining') this.rejoin();
  }
  dispatch(message) {
    if (message.event === 'phx_reply') {
      const push = this.awaiting.get(message.ref);
      if (push) push.settle(message.payload);
      return;
    }
    if (message.joinRef && message.joinRef !== this.joinRef()) return;  // from a join that is over
    if (message.event === 'phx_error') {
      this.state = 'errored';
      this.notifyState();
      this.rejoinTimer.schedule();
      return;
    }
    if (message.event === 'phx_close') {
      this.closed();
      return;
    }
    for (const binding of this.bindings) if (binding.event === message.event) binding.callback(message.payload);
  }
}

/** The WebSocket to `/socket`, reconnected with growing delays until disconnect() is called. */
export class Socket {
  constructor(endPoint, options = {}) {
    this.endPoint = endPoint;
    this.params = options.params || {};
    this.timeoutMs = options.timeoutMs || 10000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs || 30000;
    this.reconnectAfterMs = options.reconnectAfterMs || backoff([10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000]);
    this.rejoinAfterMs = options.rejoinAfterMs || backoff([1000, 2000, 5000, 10000]);
    this.channels = [];
    this.conn = null;
    this.refCounter = 0;
    this.pendingHeartbeatRef = null;
    this.heartbeatTimer = null;
    this.closedOnPurpose = false;
    this.hooks = { open: [], close: [], error: [] };
    this.reconnectTimer = new RetryTimer(() => this.connect(), this.reconnectAfterMs);
    /** How many times a WebSocket was opened: 1 for a connection that never dropped. */
    this.opens = 0;
  }
  onOpen(callback) { this.hooks.open.push(callback); }
  onClose(callback) { this.hooks.close.push(callback); }
  onError(callback) { this.hooks.error.push(callback); }
  makeRef() {
    this.refCounter += 1;
    return String(this.refCounter);
  }
  isConnected() {
    return this.conn !== null && this.conn.readyState === SOCKET_STATES.open;
  }
  endPointURL() {
    const params = typeof this.params === 'function' ? this.params() : this.params;
    const query = new URLSearchParams({ ...params, vsn: '2.0.0' });
    return `${this.endPoint}/websocket?${query}`;
  }
  async connect() {
    if (this.conn) return;
    this.closedOnPurpose = false;
    if (this.beforeConnect) {
      try { await this.beforeConnect(); } catch (error) { /* try the socket anyway; a refusal retries */ }
      if (this.conn || this.closedOnPurpose) return;
    }
    const conn = new WebSocket(this.endPointURL());
    this.conn = conn;
    conn.onopen = () => {
      if (this.conn !== conn) return;
      this.opens += 1;
      this.reconnectTimer.reset();
      this.startHeartbeat();
      for (const hook of this.hooks.open) hook();
      for (const channel of this.channels) channel.socketOpened();
    };
    conn.onerror = (error) => {
      if (this.conn === conn) for (const hook of this.hooks.error) hook(error);
    };
    conn.onmessage = (event) => {
      if (this.conn === conn) this.receive(serializer.decode(event.data));
    };
    conn.onclose = (event) => {
      if (this.conn === conn) this.lost(event);
    };
  }
  /** Closes the socket for good (no reconnection). */
  disconnect() {
    this.closedOnPurpose = true;
    this.reconnectTimer.reset();
    const conn = this.conn;
    if (conn) {
      this.lost({ code: 1000, reason: 'disconnect' });
      conn.close(1000, 'disconnect');
    }
  }
  lost(event) {
    const conn = this.conn;
    this.conn = null;
    if (conn) { conn.onopen = conn.onmessage = conn.onclose = conn.onerror = null; }
    clearInterval(this.heartbeatTimer);
    this.pendingHeartbeatRef = null;
    for (const channel of this.channels) channel.socketLost();
    for (const hook of this.hooks.close) hook(event);
    if (!this.closedOnPurpose) this.reconnectTimer.schedule();
  }
  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatIntervalMs);
  }
  heartbeat() {
    if (!this.isConnected()) return;
    if (this.pendingHeartbeatRef) {
      // The last heartbeat went unanswered for a whole interval: the connection is dead even if TCP says not.
      const conn = this.conn;
      this.lost({ code: 1000, reason: 'heartbeat timeout' });
      conn.close(1000, 'heartbeat timeout');
      return;
    }
    this.pendingHeartbeatRef = this.makeRef();
    this.send({ joinRef: null, ref: this.pendingHeartbeatRef, topic: 'phoenix', event: 'heartbeat', payload: {} });
  }
  send(message) {
    if (this.isConnected()) this.conn.send(serializer.encode(message));
  }
  receive(message) {
    if (message.topic === 'phoenix' && message.ref === this.pendingHeartbeatRef) {
      this.pendingHeartbeatRef = null;
      return;
    }
    for (const channel of this.channels) if (channel.topic === message.topic) channel.dispatch(message);
  }
  /** A channel for `topic`, joined with `params` (an object or a function returning one, read at each join). */
  channel(topic, params = {}) {
    const channel = new Channel(topic, params, this);
    this.channels.push(channel);
    return channel;
  }
  remove(channel) {
    this.channels = this.channels.filter((other) => other !== channel);
  }
}
