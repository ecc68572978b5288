// The open conversation: its messages, a reply streaming into it (from POST /chat or
// attached with GET /conversations/{id}/reply), and how each reply ended.

import { raw, errorOf } from './api.js';
import { events } from './sse.js';
import { render } from './markdown.js';

const STATUS_WORDS = {
  cancelled: 'Stopped: the reply was cancelled',
  failed: 'Failed',
  interrupted: 'Interrupted: chatd stopped before the reply finished',
  truncated: 'Cut off at the token limit',
};

const messagesEl = () => document.getElementById('messages');

function scrollToEnd(force = false) {
  const el = messagesEl();
  const nearEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  if (force || nearEnd) el.scrollTop = el.scrollHeight;
}

/** Shows an empty thread, with the hint, or without it. */
export function clear(showHint = true) {
  const el = messagesEl();
  el.replaceChildren();
  if (showHint) {
    const hint = document.createElement('p');
    hint.id = 'empty';
    hint.className = 'hint';
    hint.textContent = 'Write a message below to start. Enter sends, Shift+Enter starts a new line, Escape stops a reply.';
    el.append(hint);
  }
}

function bubble(role) {
  document.getElementById('empty')?.remove();
  const article = document.createElement('article');
  article.className = `msg ${role}`;
  const who = document.createElement('div');
  who.className = 'who-line';
  who.textContent = role === 'user' ? 'You' : 'Assistant';
  const body = document.createElement('div');
  body.className = 'body';
  article.append(who, body);
  messagesEl().append(article);
  return article;
}

/** A user message: always plain text. */
export function addUser(text) {
  const article = bubble('user');
  article.querySelector('.body').textContent = text;
  scrollToEnd(true);
  return article;
}

/** A line under a message saying what went wrong, in words. */
export function addNote(article, text, isError = true) {
  const note = document.createElement('p');
  note.className = `note${isError ? ' error' : ''}`;
  note.setAttribute('role', isError ? 'alert' : 'status');
  note.textContent = text;
  article.append(note);
  scrollToEnd();
}

function setStatus(article, status, error) {
  article.querySelector('.status')?.remove();
  article.dataset.status = status;
  if (!STATUS_WORDS[status]) return;
  const badge = document.createElement('span');
  badge.className = `status ${status}`;
  badge.textContent = status === 'failed' && error ? `Failed: ${error}` : STATUS_WORDS[status];
  article.append(badge);
}

/** The model's reasoning, folded away above the reply, as plain text. */
function setReasoning(article, reasoning) {
  article.querySelector('details.reasoning')?.remove();
  if (!reasoning) return;
  const details = document.createElement('details');
  details.className = 'reasoning';
  const summary = document.createElement('summary');
  summary.textContent = 'Reasoning';
  const text = document.createElement('div');
  text.className = 'reasoning-text';
  text.textContent = reasoning;
  details.append(summary, text);
  article.querySelector('.body').before(details);
}

/** The line above a reply: who, and which model. */
function setModel(article, message) {
  if (message?.model) article.querySelector('.who-line').textContent = `Assistant · ${message.model}`;
}

/** An assistant message as stored, with its status. */
export function addAssistant(message) {
  const article = bubble('assistant');
  article.querySelector('.body').replaceChildren(render(message.content));
  setModel(article, message);
  setReasoning(article, message.reasoning);
  setStatus(article, message.status);
  return article;
}

export function showMessages(messages) {
  clear(messages.length === 0);
  for (const message of messages) {
    if (message.role === 'user') addUser(message.content);
    else addAssistant(message);
  }
  scrollToEnd(true);
}

/**
 * Reads a reply stream (`?events=true`) into a new assistant bubble. Resolves to the
 * `end` event's data, or to null when the stream broke off before its end (chatd went
 * away, or `signal` aborted it).
 */
export async function follow(response, signal, onStart) {
  let article = null;
  let text = '';
  let reasoning = '';
  let frame = 0;
  let timer = 0;
  let painted = 0;
  const paint = () => {
    frame = 0;
    painted = performance.now();
    article.querySelector('.body').replaceChildren(render(text));
    if (reasoning && !text) article.querySelector('.body').textContent = `Thinking… ${reasoning.slice(-200)}`;
    scrollToEnd();
  };
  // Each paint renders the whole text again: a long reply is painted less often.
  const schedule = () => {
    if (frame || timer) return;
    const wait = text.length > 20000 ? 250 - (performance.now() - painted) : 0;
    if (wait <= 0) {
      frame = requestAnimationFrame(paint);
      return;
    }
    timer = setTimeout(() => { timer = 0; frame = requestAnimationFrame(paint); }, wait);
  };
  const cancel = () => {
    clearTimeout(timer);
    cancelAnimationFrame(frame);
    timer = 0;
    frame = 0;
  };
  const ensure = () => {
    if (!article) {
      article = bubble('assistant');
      article.classList.add('streaming');
    }
    return article;
  };
  try {
    for await (const { event, data } of events(response)) {
      if (signal.aborted) break;
      if (event === 'start') {
        onStart?.(JSON.parse(data));
        ensure();
      } else if (event === 'message') {
        ensure();
        text += data;
        schedule();
      } else if (event === 'reasoning') {
        ensure();
        reasoning += JSON.parse(data);
        schedule();
      } else if (event === 'end') {
        const end = JSON.parse(data);
        cancel();
        finish(ensure(), end, text, reasoning);
        return end;
      }
    }
  } catch (error) {
    if (error.name !== 'AbortError') console.warn('reply stream broke off', error);
  }
  cancel();
  if (article) {
    article.classList.remove('streaming');
    if (!signal.aborted) paint();
  }
  return null;
}

function finish(article, end, text, reasoning) {
  article.classList.remove('streaming');
  const message = end.message;
  article.querySelector('.body').replaceChildren(render(message ? message.content : text));
  setModel(article, message);
  setReasoning(article, message ? message.reasoning : reasoning);
  setStatus(article, end.status, end.error);
  if (!message && !text && end.status !== 'complete') {
    article.querySelector('.body').textContent = '(nothing was generated)';
  }
  if (end.stored === false) {
    addNote(article, `Not stored yet: ${end.error || 'chatd keeps the reply and stores it once its database is back'}`);
  }
  scrollToEnd();
}

/**
 * Attaches to the reply in flight on a conversation, if there is one, or with `after`
 * (an event id chatd sent) to what came after that event. Resolves to 'none' (nothing
 * in flight), 'ended' (followed to its end) or 'broken'.
 */
export async function attach(conversationId, signal, after) {
  const cursor = after ? `&after=${encodeURIComponent(after)}` : '';
  const response = await raw('GET', `/conversations/${conversationId}/reply?events=true${cursor}`, undefined, signal);
  if (response.status === 404) return 'none';
  if (!response.ok) throw await errorOf(response);
  const end = await follow(response, signal);
  return end ? 'ended' : 'broken';
}

/** Sends a message; the answer's error (if any) in words goes under the user's bubble. */
export async function send(conversationId, text, signal) {
  const mine = addUser(text);
  const response = await raw('POST', '/chat?events=true', { conversation_id: conversationId, message: text }, signal);
  if (!response.ok) {
    const error = await errorOf(response);
    addNote(mine, error.message);
    return { outcome: 'refused', error };
  }
  const end = await follow(response, signal);
  return { outcome: end ? 'ended' : 'broken', end };
}
