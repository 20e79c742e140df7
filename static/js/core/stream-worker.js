// The trace stream's worker: fetches and decodes frames off the page's main
// thread (a large chunk line takes tens of milliseconds to parse), so playback
// never stutters while frames arrive. The wire format stays in api.js.
import { workerStream } from "./api.js";

const running = new Map();

self.onmessage = ({ data }) => {
  if (data.type === "cancel") {
    const controller = running.get(data.id);
    if (controller) controller.abort();
    running.delete(data.id);
    return;
  }
  const controller = new AbortController();
  running.set(data.id, controller);
  workerStream(data, (message, transfer = []) => self.postMessage(message, transfer), controller.signal)
    .finally(() => running.delete(data.id));
};
