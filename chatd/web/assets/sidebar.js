// The conversation list: newest first, searched with GET /users/{id}/search where chatd
// has it (else filtered by title here), renamed in place and deleted.

import { get, patch, del, ApiError } from './api.js';

const PAGE = 1000;
const MAX_PAGES = 20;

/** The name shown for a conversation. */
export function title(conversation) {
  return conversation.name || `Untitled chat #${conversation.id}`;
}

export class Sidebar {
  constructor({ onOpen, onDeleted, onError }) {
    this.list = document.getElementById('conversations');
    this.search = document.getElementById('search');
    this.note = document.getElementById('search-note');
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.user = null;
    this.conversations = [];
    this.current = null;
    // null: not known yet; false: this chatd has no search route.
    this.serverSearch = null;
    this.searchTimer = 0;
    this.searchRun = 0;
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.show(), 250);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.search.value) {
        this.search.value = '';
        this.show();
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        this.list.querySelector('.open')?.focus();
      }
    });
    this.list.addEventListener('keydown', (event) => this.arrowKeys(event));
  }

  /** Up and down move between conversations. */
  arrowKeys(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const buttons = [...this.list.querySelectorAll('.open')];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    event.preventDefault();
    const next = buttons[at + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) next.focus();
    else if (event.key === 'ArrowUp') this.search.focus();
  }

  /** Loads every conversation of the user (pages of 1000, oldest first) and shows them newest first. */
  async load(user) {
    this.user = user;
    const all = [];
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const batch = await get(`/users/${user.id}/conversations?skip=${page * PAGE}&limit=${PAGE}`);
      all.push(...batch);
      if (batch.length < PAGE) break;
    }
    this.conversations = all.reverse();
    await this.show();
  }

  find(id) {
    return this.conversations.find((c) => c.id === id);
  }

  add(conversation) {
    this.conversations.unshift(conversation);
    this.show();
  }

  setCurrent(id) {
    this.current = id;
    for (const item of this.list.children) {
      item.classList.toggle('current', Number(item.dataset.id) === id);
      item.querySelector('.open')?.setAttribute('aria-current', Number(item.dataset.id) === id ? 'true' : 'false');
    }
  }

  /** The list as the search box asks: everything, the server's hits, or a title filter. */
  async show() {
    const query = this.search.value.trim();
    const run = ++this.searchRun;
    this.note.hidden = true;
    if (!query) {
      this.draw(this.conversations.map((c) => ({ conversation: c })));
      return;
    }
    if (this.serverSearch !== false) {
      try {
        const hits = await get(`/users/${this.user.id}/search?q=${encodeURIComponent(query)}&limit=50`);
        if (run !== this.searchRun) return;
        this.serverSearch = true;
        this.drawHits(this.titled(query), hits);
        return;
      } catch (error) {
        if (run !== this.searchRun) return;
        if (error instanceof ApiError && error.status === 404 && error.detail === 'Not Found') {
          // This chatd predates search: filter by title here from now on.
          this.serverSearch = false;
        } else if (error instanceof ApiError && error.status === 422) {
          this.note.textContent = `${error.message}. Showing titles that contain it instead.`;
          this.note.hidden = false;
        } else {
          this.onError(error);
          return;
        }
      }
    }
    const matches = this.titled(query);
    this.draw(matches.map((c) => ({ conversation: c })));
    if (matches.length === 0 && this.note.hidden) {
      this.note.textContent = 'No conversation title contains this.';
      this.note.hidden = false;
    }
  }

  /** The conversations whose title contains `query`, whatever its case. */
  titled(query) {
    const needle = query.toLocaleLowerCase();
    return this.conversations.filter((c) => title(c).toLocaleLowerCase().includes(needle));
  }

  /**
   * Conversations whose title matches first, then those of the server's hits (chatd
   * searches message text, not titles, and people search for both).
   */
  drawHits(titled, hits) {
    const seen = new Map();
    for (const conversation of titled) seen.set(conversation.id, { conversation });
    for (const hit of hits) {
      if (seen.has(hit.conversation_id)) continue;
      const known = this.find(hit.conversation_id);
      const conversation = known || { id: hit.conversation_id, name: hit.conversation_name };
      seen.set(hit.conversation_id, { conversation, hit });
    }
    this.draw([...seen.values()]);
    if (seen.size === 0) {
      this.note.textContent = 'No title or message matches.';
      this.note.hidden = false;
    }
  }

  draw(rows) {
    this.list.replaceChildren(...rows.map((row) => this.item(row)));
    this.setCurrent(this.current);
  }

  item({ conversation, hit }) {
    const li = document.createElement('li');
    li.dataset.id = conversation.id;
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'open';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = title(conversation);
    open.append(name);
    if (hit) open.append(snippet(hit));
    open.addEventListener('click', () => this.onOpen(conversation.id));
    const rename = actButton('✎', `Rename ${title(conversation)}`, () => this.rename(li, conversation));
    rename.classList.add('rename');
    const remove = actButton('✕', `Delete ${title(conversation)}`, () => this.remove(conversation));
    remove.classList.add('delete', 'danger');
    li.append(open, rename, remove);
    return li;
  }

  /** Renames in place: Enter saves, Escape gives up. */
  rename(li, conversation) {
    const input = document.createElement('input');
    input.value = conversation.name || '';
    input.maxLength = 200;
    input.setAttribute('aria-label', 'New name (Enter saves, Escape cancels)');
    li.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const name = input.value.trim();
      if (save && name !== (conversation.name || '')) {
        try {
          const settings = await patch(`/conversations/${conversation.id}`, { name: name || null });
          conversation.name = settings.name;
          this.onRenamed?.(conversation);
        } catch (error) {
          this.onError(error);
        }
      }
      await this.show();
      this.list.querySelector(`li[data-id="${conversation.id}"] .rename`)?.focus();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') { event.preventDefault(); finish(true); }
      if (event.key === 'Escape') { event.preventDefault(); finish(false); }
    });
    input.addEventListener('blur', () => finish(true));
  }

  async remove(conversation) {
    if (!confirm(`Delete "${title(conversation)}" and all its messages?`)) return;
    try {
      await del(`/conversations/${conversation.id}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        this.onError(error);
        return;
      }
    }
    this.conversations = this.conversations.filter((c) => c.id !== conversation.id);
    await this.show();
    this.onDeleted(conversation.id);
    if (document.activeElement === document.body) document.getElementById('new-chat').focus();
  }
}

function actButton(text, label, onClick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'act quiet';
  button.textContent = text;
  button.setAttribute('aria-label', label);
  button.title = label;
  button.addEventListener('click', onClick);
  return button;
}

/** A search hit's snippet with its highlighted ranges (code points) marked. */
function snippet(hit) {
  const out = document.createElement('span');
  out.className = 'snippet';
  const chars = [...(hit.snippet || '')];
  let at = 0;
  const ranges = (hit.highlights || []).filter((r) => r.start >= 0 && r.end <= chars.length && r.start < r.end)
    .sort((a, b) => a.start - b.start);
  for (const { start, end } of ranges) {
    if (start < at) continue;
    out.append(chars.slice(at, start).join(''));
    const mark = document.createElement('mark');
    mark.textContent = chars.slice(start, end).join('');
    out.append(mark);
    at = end;
  }
  out.append(chars.slice(at).join(''));
  return out;
}
