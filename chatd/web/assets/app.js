// chatd's web chat: choosing a user, the conversation being shown, sending and
// stopping, the model picker, and finding chatd again when it goes away.

import { API_BASE, ApiError, get, post, patch, raw, describe, unreachable } from './api.js';
import { Sidebar, title } from './sidebar.js';
import * as thread from './thread.js';
import { copyCode } from './markdown.js';

const $ = (id) => document.getElementById(id);
const storageKey = (name) => `chatd:${API_BASE}:${name}`;

const state = {
  user: null,
  current: null,
  /** The model chosen before the first message of a new chat. */
  pendingModel: '',
  models: null,
  /** The AbortController of the reply stream being shown, if any. */
  active: null,
  reconnecting: null,
};

const sidebar = new Sidebar({
  onOpen: (id) => openConversation(id),
  onDeleted: (id) => { if (state.current === id) newChat(); },
  onError: (error) => showError(error),
});
sidebar.onRenamed = (conversation) => {
  if (conversation.id === state.current) $('title').textContent = title(conversation);
};

// ---- connection -----------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
let retryNow = null;
$('banner-retry').addEventListener('click', () => retryNow?.());

function banner(text, retry = false) {
  $('banner-text').textContent = text;
  $('banner-retry').hidden = !retry;
  $('banner').hidden = false;
}

/** Waits until chatd answers GET /status, saying so in the banner meanwhile. */
function waitForChatd() {
  if (state.reconnecting) return state.reconnecting;
  state.reconnecting = (async () => {
    let delay = 400;
    for (let attempt = 0; attempt < 5000; attempt += 1) {
      try {
        const response = await fetch(`${API_BASE}/status`);
        if (response.ok) {
          $('banner').hidden = true;
          return;
        }
        const detail = await response.json().then((b) => b.detail).catch(() => response.statusText);
        banner(response.status === 404
          ? `No chatd API at ${API_BASE}. Open this page from chatd, or add ?api=http://127.0.0.1:8000/api/v1 to its address.`
          : describe(response.status, detail), true);
      } catch {
        banner(`${unreachable().message} Trying again…`, true);
      }
      await Promise.race([sleep(delay), new Promise((resolve) => { retryNow = resolve; })]);
      delay = Math.min(delay * 1.5, 3000);
    }
  })().finally(() => { state.reconnecting = null; });
  return state.reconnecting;
}

/** After chatd was away: show the open conversation as stored, and any reply still running. */
async function reconnect() {
  await waitForChatd();
  if (state.user && state.current !== null) {
    await sidebar.load(state.user).catch(showError);
    await openConversation(state.current, { keepFocus: true });
  }
}

function showError(error) {
  if (error instanceof ApiError && error.kind === 'network') {
    reconnect();
    return;
  }
  const el = $('chat-error');
  el.textContent = error instanceof ApiError ? error.message : `Something went wrong: ${error}`;
  el.hidden = false;
}

// ---- users ----------------------------------------------------------------------------

function recentUsers() {
  try {
    const list = JSON.parse(localStorage.getItem(storageKey('recent')) || '[]');
    return Array.isArray(list) ? list.filter((n) => typeof n === 'string').slice(0, 8) : [];
  } catch {
    return [];
  }
}

function showLogin() {
  state.user = null;
  $('app').hidden = true;
  $('login').hidden = false;
  const recent = recentUsers();
  $('recent-users').hidden = recent.length === 0;
  $('recent-list').replaceChildren(...recent.map((name) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = name;
    button.addEventListener('click', () => chooseUser(name));
    li.append(button);
    return li;
  }));
  $('username').focus();
}

/** Opens a user by name, creating it when chatd does not know it. */
async function chooseUser(name) {
  const error = $('login-error');
  error.hidden = true;
  try {
    let user;
    try {
      user = await get(`/users/${encodeURIComponent(name)}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      user = await post('/users/', { username: name });
    }
    localStorage.setItem(storageKey('user'), user.username);
    const recent = [user.username, ...recentUsers().filter((n) => n !== user.username)];
    localStorage.setItem(storageKey('recent'), JSON.stringify(recent.slice(0, 8)));
    await enter(user);
  } catch (e) {
    if (e instanceof ApiError && e.kind === 'network') await waitForChatd();
    error.textContent = e.message;
    error.hidden = false;
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('username').value.trim();
  if (name) chooseUser(name);
});

$('switch-user').addEventListener('click', () => {
  stopFollowing();
  localStorage.removeItem(storageKey('user'));
  history.replaceState(null, '', location.pathname + location.search);
  showLogin();
});

async function enter(user) {
  state.user = user;
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').textContent = user.username;
  $('who').title = `user ${user.username} (id ${user.id})`;
  await Promise.all([sidebar.load(user), loadModels()]);
  const fromHash = Number(new URLSearchParams(location.hash.slice(1)).get('c'));
  if (fromHash && sidebar.find(fromHash)) await openConversation(fromHash);
  else newChat();
}

// ---- models ---------------------------------------------------------------------------

async function loadModels() {
  try {
    state.models = await get('/models');
  } catch (error) {
    state.models = null;
    if (error.kind === 'network') throw error;
  }
  fillModels(null);
}

/** The picker: chatd's default first, then every provider's models. */
function fillModels(settings) {
  const select = $('model');
  const models = state.models;
  const own = settings && !settings.defaults.includes('model') ? settings.model : (settings ? '' : state.pendingModel);
  const options = [];
  const fallback = document.createElement('option');
  fallback.value = '';
  fallback.textContent = `Default (${models?.default ?? 'chatd\'s model'})`;
  options.push(fallback);
  const known = new Set();
  for (const provider of models?.providers ?? []) {
    const group = document.createElement('optgroup');
    group.label = provider.error ? `${provider.name} (unavailable)` : provider.name;
    if (provider.error) {
      const option = document.createElement('option');
      option.disabled = true;
      option.textContent = provider.error.slice(0, 120);
      group.append(option);
    }
    for (const model of provider.models) {
      const option = document.createElement('option');
      option.value = model;
      option.textContent = model;
      known.add(model);
      group.append(option);
    }
    options.push(group);
  }
  if (own && !known.has(own)) {
    const option = document.createElement('option');
    option.value = own;
    option.textContent = own;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = own || '';
}

$('model').addEventListener('change', async () => {
  const value = $('model').value;
  $('chat-error').hidden = true;
  if (state.current === null) {
    state.pendingModel = value;
    return;
  }
  try {
    const settings = await patch(`/conversations/${state.current}`, { model: value || null });
    fillModels(settings);
  } catch (error) {
    showError(error);
    const settings = await get(`/conversations/${state.current}/settings`).catch(() => null);
    if (settings) fillModels(settings);
  }
});

// ---- the conversation shown -----------------------------------------------------------

function stopFollowing() {
  state.active?.abort();
  state.active = null;
  setBusy(false);
}

function setBusy(busy) {
  $('send').hidden = busy;
  $('stop').hidden = !busy;
}

function closeSidebar() {
  $('app').classList.remove('sidebar-open');
  $('toggle-sidebar').setAttribute('aria-expanded', 'false');
}

function newChat() {
  stopFollowing();
  state.current = null;
  state.pendingModel = '';
  sidebar.setCurrent(null);
  $('title').textContent = 'New chat';
  $('chat-error').hidden = true;
  history.replaceState(null, '', location.pathname + location.search);
  thread.clear();
  fillModels(null);
  closeSidebar();
  $('message').focus();
}

async function openConversation(id, { keepFocus = false } = {}) {
  stopFollowing();
  state.current = id;
  sidebar.setCurrent(id);
  closeSidebar();
  $('chat-error').hidden = true;
  const known = sidebar.find(id);
  $('title').textContent = known ? title(known) : `Chat #${id}`;
  history.replaceState(null, '', `${location.pathname}${location.search}#c=${id}`);
  let shown = [];
  try {
    const [messages, settings] = await Promise.all([
      get(`/conversations/${id}/messages`),
      get(`/conversations/${id}/settings`),
    ]);
    if (state.current !== id) return;
    thread.showMessages(messages);
    shown = messages;
    fillModels(settings);
    $('title').textContent = title(settings);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      thread.clear(false);
      showError(new ApiError('http', 'This conversation no longer exists.'));
      return;
    }
    showError(error);
    return;
  }
  if (!keepFocus) $('message').focus();
  await follow((signal) => thread.attach(id, signal, shownReplyEnd(shown)));
}

/**
 * The cursor past the last reply shown (`{user message}:end`) when the conversation
 * ends with an answer: only a later reply is followed, and a reply interrupted by a
 * restart, which chatd answers to an attach without a cursor, is not shown twice.
 */
function shownReplyEnd(messages) {
  const [question, answer] = messages.slice(-2);
  if (question?.role === 'user' && answer?.role === 'assistant') return `${question.id}:end`;
  return undefined;
}

/** Runs one reply stream as the page's active one; finds chatd again if it broke off. */
async function follow(run) {
  const controller = new AbortController();
  state.active?.abort();
  state.active = controller;
  const conversation = state.current;
  setBusy(true);
  let outcome;
  try {
    outcome = await run(controller.signal);
  } catch (error) {
    if (error.name === 'AbortError') return;
    outcome = 'error';
    showError(error);
  } finally {
    if (state.active === controller) {
      state.active = null;
      setBusy(false);
    }
  }
  if (controller.signal.aborted) return;
  if (outcome === 'broken') {
    banner('The connection to chatd broke off during the reply; reconnecting…');
    reconnect();
  } else if (outcome === 'ended') {
    refreshTitle(conversation);
  }
}

/** chatd names an unnamed conversation just after its first reply. */
async function refreshTitle(id) {
  const known = sidebar.find(id);
  if (!known || known.name) return;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await sleep(400 * (attempt + 1));
    const settings = await get(`/conversations/${id}/settings`).catch(() => null);
    if (settings?.name) {
      known.name = settings.name;
      sidebar.show();
      if (state.current === id) $('title').textContent = settings.name;
      return;
    }
  }
}

async function submit() {
  const box = $('message');
  const text = box.value;
  if (!text.trim() || state.active || !state.user) return;
  $('chat-error').hidden = true;
  try {
    if (state.current === null) {
      const body = { user_id: state.user.id };
      if (state.pendingModel) body.model = state.pendingModel;
      const conversation = await post('/conversations/', body);
      sidebar.add(conversation);
      state.current = conversation.id;
      sidebar.setCurrent(conversation.id);
      $('title').textContent = title(conversation);
      history.replaceState(null, '', `${location.pathname}${location.search}#c=${conversation.id}`);
    }
  } catch (error) {
    showError(error);
    return;
  }
  box.value = '';
  const id = state.current;
  await follow(async (signal) => {
    try {
      const sent = await thread.send(id, text, signal);
      // Another tab or client is being answered here: show that reply.
      if (sent.outcome === 'refused' && sent.error.status === 409) return thread.attach(id, signal);
      return sent.outcome;
    } catch (error) {
      // Not sent: give the text back to the person.
      if (!box.value) box.value = text;
      throw error;
    }
  });
}

async function stop() {
  if (state.current === null) return;
  try {
    const response = await raw('POST', `/conversations/${state.current}/cancel`);
    if (!response.ok && response.status !== 404) showError(new ApiError('http', describe(response.status, (await response.json()).detail)));
  } catch (error) {
    showError(error);
  }
}

$('composer').addEventListener('submit', (event) => { event.preventDefault(); submit(); });
$('message').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
$('stop').addEventListener('click', stop);
$('new-chat').addEventListener('click', newChat);
$('toggle-sidebar').addEventListener('click', () => {
  const open = $('app').classList.toggle('sidebar-open');
  $('toggle-sidebar').setAttribute('aria-expanded', String(open));
  if (open) $('search').focus();
});
$('chat').addEventListener('click', (event) => {
  if ($('app').classList.contains('sidebar-open') && !event.target.closest('#toggle-sidebar')) closeSidebar();
});
$('messages').addEventListener('click', (event) => {
  const button = event.target.closest('button.copy');
  if (button) copyCode(button);
});
document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented) return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
    event.preventDefault();
    $('app').classList.add('sidebar-open');
    $('search').focus();
  } else if (event.key === 'Escape') {
    if (state.active && state.current !== null) stop();
    else closeSidebar();
  }
});

// ---- start ----------------------------------------------------------------------------

async function boot() {
  $('loading').hidden = true;
  await waitForChatd();
  const saved = localStorage.getItem(storageKey('user'));
  if (!saved) {
    showLogin();
    return;
  }
  try {
    await enter(await get(`/users/${encodeURIComponent(saved)}`));
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'network') {
      await waitForChatd();
      boot();
      return;
    }
    showLogin();
  }
}

boot();
