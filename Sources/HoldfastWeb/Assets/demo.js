// The demo chat: a token from POST /demo/token, one Phoenix socket, the room "room:lobby".
import { Socket } from '/demo/phoenix-client.js';
import { Presence, list } from '/demo/presence.js';
import { h, byTestID, replaceChildren } from '/demo/dom.js';

const TOPIC = 'room:lobby';
const demo = { socketOpens: 0, messagesReceived: 0, lastPresenceDiffAt: null, lastId: 0, pid: null,
  handlerVersion: null, status: 'offline' };
window.holdfastDemo = demo;

const device = sessionStorage.getItem('holdfastDevice') || `browser-${Math.random().toString(36).slice(2, 8)}`;
sessionStorage.setItem('holdfastDevice', device);
let token = null;
let tokenExpiresAt = 0;
let user = null;
const seen = new Map();  // message id -> element, so a replay after a rejoin shows nothing twice

async function fetchToken() {
  const response = await fetch('/demo/token', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user }),
  });
  if (!response.ok) throw new Error(`${response.status} ${(await response.text()).trim()}`);
  const answer = await response.json();
  token = answer.token;
  tokenExpiresAt = Date.now() + answer.expires_in * 1000;
}

function setStatus(status) {
  demo.status = status;
  const element = byTestID('connection-status');
  element.textContent = status;
  element.className = `status ${status}`;
}

function showServer(info) {
  demo.pid = info.pid;
  demo.handlerVersion = info.handler_version;
  byTestID('server-version').textContent = `handlers ${info.handler_version} · pid ${info.pid}`;
}

function addMessage(message) {
  demo.messagesReceived += 1;
  if (typeof message.id !== 'number' || seen.has(message.id)) return;
  demo.lastId = Math.max(demo.lastId, message.id);
  const time = new Date(message.ts);
  const item = h('li', { 'data-id': message.id },
    h('span', { class: 'who' }, String(message.user)),
    h('span', { class: 'body' }, String(message.body)),
    h('time', { datetime: time.toISOString() }, time.toLocaleTimeString()));
  seen.set(message.id, item);
  const listElement = byTestID('message-list');
  // Ids increase per room; a replayed older message goes before the first newer one.
  const later = [...listElement.children].find((child) => Number(child.dataset.id) > message.id);
  listElement.insertBefore(item, later || null);
  listElement.scrollTop = listElement.scrollHeight;
}

function showPresence(state) {
  const items = list(state, (key, presence) => {
    const devices = presence.metas.length;
    return h('li', { 'data-user': key },
      h('span', { class: 'name' }, key), ' ',
      h('span', { class: 'devices' }, devices === 1 ? '(1 device)' : `(${devices} devices)`));
  });
  replaceChildren(byTestID('presence-list'), items);
}

const typingTimers = new Map();
function showTyping(who) {
  if (who === user) return;
  clearTimeout(typingTimers.get(who));
  typingTimers.set(who, setTimeout(() => { typingTimers.delete(who); renderTyping(); }, 3000));
  renderTyping();
}
function renderTyping() {
  const names = [...typingTimers.keys()].sort();
  byTestID('typing').textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function start() {
  const socket = new Socket('/socket', {
    params: () => ({ token }),
    heartbeatIntervalMs: 15000,
  });
  // A token about to run out is renewed before each connection attempt.
  socket.beforeConnect = async () => {
    if (!token || Date.now() > tokenExpiresAt - 60000) await fetchToken();
  };
  const channel = socket.channel(TOPIC, () => {
    const params = { device };
    if (demo.lastId > 0) params.last_seen_id = demo.lastId;
    return params;
  });
  socket.onOpen(() => { demo.socketOpens = socket.opens; });
  // The browser knows when it has no network at all: say so rather than "reconnecting".
  window.addEventListener('offline', () => setStatus('offline'));
  window.addEventListener('online', () => { if (channel.state !== 'joined') setStatus('reconnecting'); });
  socket.onClose(() => { if (navigator.onLine) setStatus('reconnecting'); else setStatus('offline'); });
  channel.onStateChange((state) => {
    if (state === 'joined') setStatus('connected');
    else if (demo.status === 'connected') setStatus(navigator.onLine ? 'reconnecting' : 'offline');
  });
  channel.on('new_msg', addMessage);
  channel.on('typing', (payload) => showTyping(String(payload.user)));
  new Presence(channel, (state, diff) => {
    if (diff) demo.lastPresenceDiffAt = Date.now();
    showPresence(state);
  });
  const askServer = () => channel.push('server_info', {}).receive('ok', showServer);
  channel.join().receive('ok', () => { setStatus('connected'); askServer(); });
  // The handler version changes under a live socket (hot swap), the pid with a binary upgrade: ask every second.
  setInterval(() => { if (channel.state === 'joined') askServer(); }, 1000);
  setInterval(() => { if (Date.now() > tokenExpiresAt - 120000) fetchToken().catch(() => {}); }, 60000);
  socket.connect();

  const input = byTestID('message-input');
  let lastTyping = 0;
  input.addEventListener('input', () => {
    if (Date.now() - lastTyping < 1500 || input.value === '') return;
    lastTyping = Date.now();
    channel.push('typing', {});
  });
  document.getElementById('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const body = input.value;
    if (body.trim() === '') return;
    channel.push('new_msg', { body, client_id: `${device}-${Date.now()}` });
    input.value = '';
    lastTyping = 0;
  });
  demo.socket = socket;
  demo.channel = channel;
}

async function login(name) {
  user = name.trim();
  const error = document.getElementById('login-error');
  error.textContent = '';
  try {
    await fetchToken();
  } catch (failure) {
    error.textContent = `Could not get a token: ${failure.message}`;
    return;
  }
  document.getElementById('login').hidden = true;
  document.getElementById('chat').hidden = false;
  setStatus('reconnecting');
  start();
  byTestID('message-input').focus();
}

document.getElementById('login').addEventListener('submit', (event) => {
  event.preventDefault();
  login(document.getElementById('user-name').value);
});
const preset = new URLSearchParams(location.search).get('user');
if (preset) login(preset);
