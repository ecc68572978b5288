// Server-sent events from a fetch response, read as the HTML standard's event-stream
// parser reads them (EventSource cannot POST): `event:` names, `data:` lines joined with
// "\n", a blank line dispatches. Bounded: one event over 8 MiB ends the stream.

const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** Yields `{event, data}` until the stream ends; throws when the connection breaks. */
export async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let name = '';
  let data = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // A lone "\r" at the end may be the first half of "\r\n": wait for more.
        if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0) yield { event: name || 'message', data: data.join('\n') };
          name = '';
          data = [];
          size = 0;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') {
          data.push(text);
          size += text.length;
        } else if (field === 'event') {
          name = text;
        }
      }
      if (size + buffer.length > MAX_EVENT_CHARS) throw new Error('an event over 8 MiB');
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
