// The operations dashboard: polls GET /admin/stats once a second with the bearer token from the login form
// (kept in sessionStorage, never in a URL) and keeps the last ten minutes of points here in the page.
import { h, byTestID, replaceChildren } from '/admin/dom.js';
import { drawChart, Window } from '/admin/charts.js';

const POINTS = 600;  // one a second for ten minutes
const TOKEN_KEY = 'holdfastAdminToken';
const history = {
  messagesIn: new Window(POINTS), messagesOut: new Window(POINTS), deliveries: new Window(POINTS),
  connections: new Window(POINTS), rss: new Window(POINTS),
};
let previous = null;
let timer = null;
let pendingAction = null;
window.holdfastDashboard = { polls: 0, last: null };

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store' });
  if (response.status === 401) {
    signOut('The token was refused.');
    throw new Error('unauthorized');
  }
  const text = await response.text();
  let answer = {};
  try { answer = JSON.parse(text); } catch { answer = { error: text.trim() }; }
  return { status: response.status, answer };
}

function duration(ms) {
  const seconds = Math.floor(ms / 1000);
  const parts = [[Math.floor(seconds / 86400), 'd'], [Math.floor(seconds / 3600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'], [seconds % 60, 's']];
  const start = parts.findIndex(([value]) => value > 0);
  return parts.slice(start === -1 ? 3 : start).map(([value, unit]) => `${value}${unit}`).join(' ');
}

function set(id, text) {
  byTestID(id).textContent = text;
}

function rate(now, before, key) {
  if (!before) return 0;
  const seconds = (now.now_ms - before.now_ms) / 1000;
  const delta = now.counters[key] - before.counters[key];
  // A binary upgrade starts the counters again in the new process; that second counts from zero.
  return seconds > 0 ? Math.max(0, delta >= 0 ? delta : now.counters[key]) / seconds : 0;
}

function render(stats) {
  const before = previous && previous.pid === stats.pid ? previous : null;
  set('pid', String(stats.pid));
  set('version', stats.version);
  set('uptime', duration(stats.uptime_ms));
  set('handlers', stats.handlers.previous ? `${stats.handlers.current} (previous ${stats.handlers.previous})`
    : stats.handlers.current);
  set('handlers-loaded', stats.handlers.loaded.map((plugin) => plugin.version).join(', '));
  set('connections', String(stats.connections.clients));
  set('connections-split', `${stats.connections.plain} / ${stats.connections.tls}`);
  set('connections-admin', String(stats.connections.admin));
  set('room-count', String(stats.rooms.count));
  set('restarts', String(stats.actors.restarts));
  set('history-queue', `${stats.history.queued_batches} batches`);

  const loops = stats.event_loops.map((loop) => {
    let load = 0;
    const earlier = before && before.event_loops[loop.index];
    if (earlier) {
      const wall = stats.now_ms - before.now_ms;
      load = wall > 0 ? Math.min(1, Math.max(0, 1 - (loop.idle_ms - earlier.idle_ms) / wall)) : 0;
    }
    const percent = `${Math.round(load * 100)} %`;
    return h('li', {}, h('span', {}, `loop ${loop.index}`),
      h('meter', { min: 0, max: 1, value: load.toFixed(3), 'aria-label': `loop ${loop.index} load` }), h('span', {}, percent));
  });
  replaceChildren(byTestID('loops'), loops);

  replaceChildren(byTestID('rooms-table'), stats.rooms.top.map((room) =>
    h('tr', {}, h('td', {}, room.topic), h('td', { class: 'num' }, String(room.members)))));

  const rows = [...stats.upgrades].reverse().map((record) => {
    const steps = Object.entries(record)
      .filter(([key, value]) => key.endsWith('_ms') && key !== 'pause_ms' && typeof value === 'number')
      .map(([key, value]) => `${key.slice(0, -3)} ${value.toFixed(1)}`);
    if (record.error) steps.push(record.error);
    return h('tr', {},
      h('td', {}, record.kind), h('td', {}, `${record.from} → ${record.to}`),
      h('td', { class: `outcome-${record.outcome}` }, record.outcome),
      h('td', { class: 'num' }, Number(record.pause_ms).toFixed(1)), h('td', {}, steps.join(' · ')));
  });
  replaceChildren(byTestID('upgrades-table'), rows);

  if (!previous || stats.now_ms !== previous.now_ms) {
    history.messagesIn.push(rate(stats, before, 'messages_in'));
    history.messagesOut.push(rate(stats, before, 'messages_out'));
    history.deliveries.push(rate(stats, before, 'deliveries'));
    history.connections.push(stats.connections.clients);
    history.rss.push(stats.rss_bytes / 1048576);
  }
  previous = stats;
  drawCharts();
}

function drawCharts() {
  const line = (window, color) => ({ values: window.values, capacity: POINTS, color });
  drawChart(document.getElementById('chart-messages'),
    [line(history.messagesIn, '#1565c0'), line(history.messagesOut, '#c2410c')]);
  drawChart(document.getElementById('chart-deliveries'), [line(history.deliveries, '#7c3aed')]);
  drawChart(document.getElementById('chart-connections'), [line(history.connections, '#1b7f3b')]);
  drawChart(document.getElementById('chart-rss'), [line(history.rss, '#b25e00')]);
}

async function poll() {
  try {
    const { status, answer } = await call('GET', '/admin/stats');
    if (status !== 200) throw new Error(answer.error || `HTTP ${status}`);
    window.holdfastDashboard.polls += 1;
    window.holdfastDashboard.last = answer;
    render(answer);
    set('poll-status', `live · ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (token()) set('poll-status', `no answer (${error.message}), retrying`);
  }
}

function signIn() {
  document.getElementById('login').hidden = true;
  document.getElementById('board').hidden = false;
  document.getElementById('logout').hidden = false;
  set('poll-status', 'connecting');
  clearInterval(timer);
  poll();
  timer = setInterval(poll, 1000);
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  document.getElementById('login').hidden = false;
  document.getElementById('board').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('login-error').textContent = reason || '';
  set('poll-status', 'signed out');
}

function ask(action) {
  const paths = { handlers: 'handlers-path', binary: 'binary-path' };
  const path = paths[action] ? byTestID(paths[action]).value.trim() : '';
  if (paths[action] && path === '') {
    showResult(`Give the path of the ${action === 'binary' ? 'binary' : 'plugin'} first.`, false);
    return;
  }
  pendingAction = { action, path };
  const text = action === 'rollback' ? 'Roll the handlers back to the previous version?'
    : action === 'handlers' ? `Swap the handlers for ${path}?` : `Hand every connection over to a new process running ${path}?`;
  set('confirm-text', text);
  document.getElementById('confirm').hidden = false;
  document.getElementById('confirm-yes').focus();
}

function showResult(text, ok) {
  const element = byTestID('action-result');
  element.textContent = text;
  element.className = `result ${ok ? 'done' : 'failed'}`;
}

async function confirmAction() {
  document.getElementById('confirm').hidden = true;
  const pending = pendingAction;
  pendingAction = null;
  if (!pending) return;
  showResult('working…', true);
  const body = pending.action === 'rollback' ? {} : { [pending.action]: pending.path };
  try {
    const { status, answer } = await call('POST', pending.action === 'rollback' ? '/admin/rollback' : '/admin/upgrade', body);
    if (status === 200) showResult(`${answer.kind}: ${answer.from} → ${answer.to}, pause ${Number(answer.pause_ms).toFixed(1)} ms`, true);
    else showResult(`refused (${status}): ${answer.check || ''} ${answer.error || ''}`, false);
  } catch (error) {
    showResult(`failed: ${error.message}`, false);
  }
  poll();
}

document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = document.getElementById('admin-token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, value);
  document.getElementById('admin-token').value = '';
  try {
    const { status } = await call('GET', '/admin/stats');
    if (status === 200) signIn();
  } catch {
    // signOut has said why
  }
});
document.getElementById('logout').addEventListener('click', () => signOut());
for (const button of document.querySelectorAll('[data-action]')) {
  button.addEventListener('click', () => ask(button.dataset.action));
}
document.getElementById('confirm-yes').addEventListener('click', confirmAction);
document.getElementById('confirm-no').addEventListener('click', () => {
  document.getElementById('confirm').hidden = true;
  pendingAction = null;
});
window.addEventListener('resize', drawCharts);
if (token()) signIn();
