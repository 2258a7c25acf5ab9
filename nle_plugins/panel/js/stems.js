/* Stem audio as it streams in (ScoreEvent.stem chunks) → WAV files the panel can play,
 * download or hand to the host. */
(function (V2M) {
  "use strict";

  class StemAssembler {
    constructor() {
      this.stems = new Map(); // name -> {rate, channels, format, parts: [Uint8Array], done}
    }

    /** Add one StemChunk (JSON mapping); returns true when it was the stem's last chunk. */
    add(chunk) {
      let stem = this.stems.get(chunk.name);
      if (!stem) {
        stem = {
          rate: chunk.sampleRateHz,
          channels: chunk.channels,
          format: chunk.format || "pcm_s16le",
          parts: [],
          done: false,
        };
        this.stems.set(chunk.name, stem);
      }
      stem.parts.push(V2M.fromBase64(chunk.data));
      stem.done = Boolean(chunk.last);
      return stem.done;
    }

    names() {
      return [...this.stems.keys()];
    }

    /** The stem as a WAV file (16-bit PCM or 32-bit float, as streamed): Uint8Array. */
    wavBytes(name) {
      const stem = this.stems.get(name);
      const size = stem.parts.reduce((n, p) => n + p.length, 0);
      const float = stem.format === "f32le";
      const bytesPerSample = float ? 4 : 2;
      const out = new Uint8Array(44 + size);
      const view = new DataView(out.buffer);
      const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
      text(0, "RIFF");
      view.setUint32(4, 36 + size, true);
      text(8, "WAVE");
      text(12, "fmt ");
      view.setUint32(16, 16, true);
      view.setUint16(20, float ? 3 : 1, true);
      view.setUint16(22, stem.channels, true);
      view.setUint32(24, stem.rate, true);
      view.setUint32(28, stem.rate * stem.channels * bytesPerSample, true);
      view.setUint16(32, stem.channels * bytesPerSample, true);
      view.setUint16(34, 8 * bytesPerSample, true);
      text(36, "data");
      view.setUint32(40, size, true);
      let offset = 44;
      for (const part of stem.parts) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    }

    wavBlob(name) {
      return new Blob([this.wavBytes(name)], { type: "audio/wav" });
    }
  }

  V2M.StemAssembler = StemAssembler;
})((globalThis.V2M = globalThis.V2M || {}));
