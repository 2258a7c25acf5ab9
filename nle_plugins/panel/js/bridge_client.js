/* The v2m service over the server's WebSocket bridge (server/bridge.py): each call is
 * {id, method, message, metadata}; the server answers {id, message} frames and one final
 * {id, status: {code, message}}. Messages are the proto messages in their JSON mapping. */
(function (V2M) {
  "use strict";

  class StatusError extends Error {
    /** A call that ended with a status other than OK (code: "INVALID_ARGUMENT", ...). */
    constructor(code, message) {
      super(message || code);
      this.code = code;
    }
  }

  class BridgeClient {
    /** url: ws://host:port/v1/ws; token: the server's bearer token, or "". */
    constructor(url, { token = "" } = {}) {
      this.url = url;
      this.token = token;
      this.nextId = 1;
      this.calls = new Map();
      this.socket = null;
      this.opening = null;
    }

    connect() {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
      if (this.opening) return this.opening;
      this.opening = new Promise((resolve, reject) => {
        const ws = new WebSocket(this.url);
        ws.onopen = () => {
          this.socket = ws;
          this.opening = null;
          resolve();
        };
        ws.onerror = () => {
          this.opening = null;
          reject(new StatusError("UNAVAILABLE", `cannot reach the v2m server at ${this.url}`));
        };
        ws.onclose = () => {
          this.socket = null;
          for (const call of this.calls.values()) {
            call.finish("UNAVAILABLE", "the connection to the v2m server was lost");
          }
          this.calls.clear();
        };
        ws.onmessage = (event) => this._receive(JSON.parse(event.data));
      });
      return this.opening;
    }

    _receive(frame) {
      const call = this.calls.get(frame.id);
      if (!call) return;
      if (frame.status) {
        this.calls.delete(frame.id);
        call.finish(frame.status.code, frame.status.message);
      } else if (call.onMessage) {
        call.onMessage(frame.message);
      }
    }

    _send(frame) {
      this.socket.send(JSON.stringify(frame));
    }

    /** Start a call; returns {id, done: Promise (resolves on OK, rejects with StatusError),
     * cancel(), send(message), end()} — send/end for client streams. */
    async start(method, message, { onMessage = null } = {}) {
      await this.connect();
      const id = this.nextId++;
      let finish;
      const done = new Promise((resolve, reject) => {
        finish = (code, text) => (code === "OK" ? resolve() : reject(new StatusError(code, text)));
      });
      this.calls.set(id, { onMessage, finish });
      const metadata = this.token ? { authorization: `Bearer ${this.token}` } : {};
      this._send({ id, method, message, metadata });
      return {
        id,
        done,
        cancel: () => this.socket && this._send({ id, cancel: true }),
        send: (m) => this._send({ id, message: m }),
        end: () => this._send({ id, end: true }),
      };
    }

    /** A unary call: resolves to its reply message. */
    async unary(method, message = {}) {
      let reply = null;
      const call = await this.start(method, message, { onMessage: (m) => (reply = m) });
      await call.done;
      return reply;
    }

    /** Upload a File/Blob or a Uint8Array through UploadMedia in 1 MiB chunks; resolves to
     * the UploadResult ({uploadId, bytes, alreadyPresent}). onProgress(fraction). */
    async upload(data, filename, onProgress = () => {}) {
      let reply = null;
      const chunkBytes = 1 << 20;
      const size = data.size !== undefined ? data.size : data.length;
      const piece = async (start, end) =>
        data instanceof Uint8Array
          ? data.subarray(start, end)
          : new Uint8Array(await data.slice(start, end).arrayBuffer());
      const call = await this.start("UploadMedia", null, { onMessage: (m) => (reply = m) });
      let offset = 0;
      do {
        const message = { data: V2M.toBase64(await piece(offset, offset + chunkBytes)) };
        if (offset === 0) Object.assign(message, { filename, totalBytes: String(size) });
        call.send(message);
        offset += chunkBytes;
        onProgress(Math.min(1, offset / Math.max(size, 1)));
      } while (offset < size);
      call.end();
      await call.done;
      return reply;
    }
  }

  V2M.toBase64 = function (bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };

  V2M.fromBase64 = function (text) {
    const raw = atob(text || "");
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  };

  V2M.BridgeClient = BridgeClient;
  V2M.StatusError = StatusError;
})((globalThis.V2M = globalThis.V2M || {}));
