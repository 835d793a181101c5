/** A small SSE reader over fetch for tests: parses `id`, `event`, `data` and comment lines. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface SseReading {
  messages: SseMessage[];
  comments: string[];
  /** True when the server closed the stream. */
  ended: boolean;
}

/** Reads until the server closes the stream, `until` says stop, or `timeoutMs` passes. */
export async function readSse(
  url: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; until?: (reading: SseReading) => boolean } = {},
): Promise<SseReading> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  const reading: SseReading = { messages: [], comments: [], ended: false };
  try {
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`SSE request failed: ${response.status} ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        reading.ended = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let split: number;
      while ((split = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const message: SseMessage = { data: '' };
        let isMessage = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) reading.comments.push(line.slice(1).trim());
          else if (line.startsWith('id:')) (message.id = line.slice(3).trim()), (isMessage = true);
          else if (line.startsWith('event:')) (message.event = line.slice(6).trim()), (isMessage = true);
          else if (line.startsWith('data:')) (message.data += (message.data ? '\n' : '') + line.slice(5).trimStart()), (isMessage = true);
        }
        if (isMessage) reading.messages.push(message);
      }
      if (options.until?.(reading)) {
        await reader.cancel();
        break;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return reading;
}
