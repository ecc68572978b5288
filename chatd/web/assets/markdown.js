// Model output to safe DOM: Markdown by marked, raw HTML shown as text, the result
// sanitised by DOMPurify (no script, no event handlers, no javascript: links, no
// styles), code blocks highlighted by highlight.js and given a copy button. The page's
// Content-Security-Policy stands behind all of this.

import { Marked } from './vendor/marked-18.2.1/marked.esm.js';
import DOMPurify from './vendor/dompurify-3.5.0/purify.es.mjs';
import hljs from './vendor/highlight.js-11.12.0/core.min.js';
import bash from './vendor/highlight.js-11.12.0/languages/bash.min.js';
import c from './vendor/highlight.js-11.12.0/languages/c.min.js';
import cpp from './vendor/highlight.js-11.12.0/languages/cpp.min.js';
import css from './vendor/highlight.js-11.12.0/languages/css.min.js';
import diff from './vendor/highlight.js-11.12.0/languages/diff.min.js';
import go from './vendor/highlight.js-11.12.0/languages/go.min.js';
import java from './vendor/highlight.js-11.12.0/languages/java.min.js';
import javascript from './vendor/highlight.js-11.12.0/languages/javascript.min.js';
import json from './vendor/highlight.js-11.12.0/languages/json.min.js';
import markdown from './vendor/highlight.js-11.12.0/languages/markdown.min.js';
import python from './vendor/highlight.js-11.12.0/languages/python.min.js';
import rust from './vendor/highlight.js-11.12.0/languages/rust.min.js';
import shell from './vendor/highlight.js-11.12.0/languages/shell.min.js';
import sql from './vendor/highlight.js-11.12.0/languages/sql.min.js';
import typescript from './vendor/highlight.js-11.12.0/languages/typescript.min.js';
import xml from './vendor/highlight.js-11.12.0/languages/xml.min.js';
import yaml from './vendor/highlight.js-11.12.0/languages/yaml.min.js';

const LANGUAGES = {
  bash, c, cpp, css, diff, go, java, javascript, json, markdown, python, rust, shell, sql,
  typescript, xml, yaml,
};
for (const [name, grammar] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, grammar);

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[ch]);
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML in a reply is shown as the text it is, never as markup.
    html({ text, block }) {
      const shown = escapeHtml(block ? text.trim() : text);
      return block ? `<p>${shown.replace(/\n/g, '<br>')}</p>` : shown;
    },
    // Images would load from anywhere the model names (a way to leak the chat to a
    // server); show them as links instead.
    image({ href, text }) {
      return `<a href="${escapeHtml(href || '')}">${escapeHtml(text || href || 'image')}</a>`;
    },
  },
});

const PURIFY = {
  FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select',
    'iframe', 'object', 'embed', 'video', 'audio', 'source', 'picture'],
  FORBID_ATTR: ['style', 'class', 'id', 'srcset'],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

/** The language of a fenced block (` ```rust `), if highlight.js knows it. */
function languageOf(code, info) {
  const name = (info || '').trim().split(/\s+/)[0].toLowerCase();
  if (name && hljs.getLanguage(name)) return name;
  return null;
}

/** Wraps every `<pre><code>` in a frame with its language and a copy button. */
function decorateCode(fragment, infos) {
  const blocks = fragment.querySelectorAll('pre > code');
  blocks.forEach((code, index) => {
    const pre = code.parentElement;
    const info = infos[index] || '';
    const language = languageOf(code, info);
    const text = code.textContent;
    if (language) {
      const result = hljs.highlight(text, { language, ignoreIllegals: true });
      // highlight.js escapes the text it is given; its output is only its own spans.
      code.innerHTML = DOMPurify.sanitize(result.value, { ALLOWED_TAGS: ['span'], ALLOWED_ATTR: ['class'] });
      code.classList.add('hljs', `language-${language}`);
    }
    const frame = document.createElement('div');
    frame.className = 'code';
    const head = document.createElement('div');
    head.className = 'code-head';
    const label = document.createElement('span');
    label.textContent = language || info.trim().split(/\s+/)[0] || 'text';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', `Copy ${label.textContent} code`);
    head.append(label, copy);
    pre.replaceWith(frame);
    frame.append(head, pre);
  });
}

/** A reply's Markdown as a sanitised DocumentFragment. */
export function render(text) {
  const tokens = marked.lexer(text);
  const infos = [];
  marked.walkTokens(tokens, (token) => {
    if (token.type === 'code') infos.push(token.codeBlockStyle === 'indented' ? '' : (token.lang || ''));
  });
  const html = marked.parser(tokens);
  const fragment = DOMPurify.sanitize(html, PURIFY);
  decorateCode(fragment, infos);
  return fragment;
}

/** Copies a code block's text when its copy button is pressed. */
export async function copyCode(button) {
  const code = button.closest('.code')?.querySelector('pre code');
  if (!code) return;
  const text = code.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => { button.textContent = 'Copy'; }, 1500);
}
