// Presence as Phoenix.Presence keeps it on the client: state is {key: {metas: [{phx_ref, ...}, ...]}}.
// syncState replaces the whole state (presence_state), syncDiff applies {joins, leaves} (presence_diff); both call
// onJoin(key, current, joined) and onLeave(key, current, left) for what changed.

function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

function refs(presence) {
  return new Set(presence.metas.map((meta) => meta.phx_ref));
}

/** The state after `newState` arrives: what it has and `state` lacks joins, the reverse leaves. */
export function syncState(state, newState, onJoin, onLeave) {
  const current = clone(state);
  const joins = {};
  const leaves = {};
  for (const [key, presence] of Object.entries(current)) {
    if (!(key in newState)) leaves[key] = presence;
  }
  for (const [key, presence] of Object.entries(newState)) {
    const old = current[key];
    if (!old) {
      joins[key] = clone(presence);
      continue;
    }
    const newRefs = refs(presence);
    const oldRefs = refs(old);
    const joined = presence.metas.filter((meta) => !oldRefs.has(meta.phx_ref));
    const left = old.metas.filter((meta) => !newRefs.has(meta.phx_ref));
    if (joined.length > 0) joins[key] = { ...clone(presence), metas: clone(joined) };
    if (left.length > 0) leaves[key] = { ...clone(old), metas: clone(left) };
  }
  return syncDiff(current, { joins, leaves }, onJoin, onLeave);
}

/** The state after `diff`: joined metas are added (after the ones already there), left metas removed. */
export function syncDiff(state, diff, onJoin, onLeave) {
  const next = clone(state);
  for (const [key, joined] of Object.entries(diff.joins || {})) {
    const current = next[key];
    const presence = clone(joined);
    if (current) {
      const joinedRefs = refs(presence);
      const kept = current.metas.filter((meta) => !joinedRefs.has(meta.phx_ref));
      presence.metas = [...kept, ...presence.metas];
    }
    next[key] = presence;
    if (onJoin) onJoin(key, current, joined);
  }
  for (const [key, left] of Object.entries(diff.leaves || {})) {
    const current = next[key];
    if (!current) continue;
    const leftRefs = refs(left);
    current.metas = current.metas.filter((meta) => !leftRefs.has(meta.phx_ref));
    if (onLeave) onLeave(key, current, left);
    if (current.metas.length === 0) delete next[key];
  }
  return next;
}

/** `chooser(key, presence)` for every key, sorted by key. */
export function list(state, chooser = (key, presence) => presence) {
  return Object.keys(state).sort().map((key) => chooser(key, state[key]));
}

/**
 * Presence of one channel: presence_state and presence_diff kept in order. A diff that comes before the state of
 * the current join is held and applied after it, as Phoenix.Presence does.
 */
export class Presence {
  constructor(channel, onSync) {
    this.state = {};
    this.pendingDiffs = [];
    this.synced = false;
    this.onSync = onSync;
    channel.onStateChange((state) => {
      if (state !== 'joined') this.synced = false;
    });
    channel.on('presence_state', (newState) => {
      this.state = syncState(this.state, newState);
      for (const diff of this.pendingDiffs.splice(0)) this.state = syncDiff(this.state, diff);
      this.synced = true;
      this.onSync(this.state, null);
    });
    channel.on('presence_diff', (diff) => {
      if (!this.synced) {
        this.pendingDiffs.push(diff);
        return;
      }
      this.state = syncDiff(this.state, diff);
      this.onSync(this.state, diff);
    });
  }
}
