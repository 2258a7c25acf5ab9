/* The panel's scoring settings: every element with a data-option attribute names the
 * ScoreRequest field (JSON name) it sets, and data-type says how its text is read. One reader
 * for all of them, so a new option needs only its element. Selection fields (data-type
 * "time") belong to the host adapter, which reads them itself. */
(function (V2M) {
  "use strict";

  function fail(name, text, what) {
    throw new Error(`${name}: "${text}" is not ${what}`);
  }

  const READERS = {
    text: (el) => el.value.trim() || undefined,
    number: (el, name) => {
      const t = el.value.trim();
      if (!t) return undefined;
      const n = Number(t);
      return Number.isFinite(n) ? n : fail(name, t, "a number");
    },
    integer: (el, name) => {
      const n = READERS.number(el, name);
      return n === undefined || Number.isInteger(n) ? n : fail(name, el.value, "a whole number");
    },
    int64: (el, name) => {
      const n = READERS.integer(el, name);
      return n === undefined ? undefined : String(n); // int64 travels as text in JSON
    },
    list: (el) => {
      const items = el.value.split(/[,\s+]+/).map((x) => x.trim()).filter(Boolean);
      return items.length ? items : undefined;
    },
    numbers: (el, name) => {
      const items = el.value.split(/[,\s]+/).filter(Boolean);
      const values = items.map(Number);
      if (values.some((v) => !Number.isFinite(v))) fail(name, el.value, "a list of seconds");
      return values.length ? values : undefined;
    },
    map: (el, name) => {
      const pairs = el.value.split(",").map((x) => x.trim()).filter(Boolean);
      if (!pairs.length) return undefined;
      const out = {};
      for (const pair of pairs) {
        const at = pair.indexOf("=");
        if (at < 1) fail(name, pair, "name=value");
        out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
      }
      return out;
    },
    flag: (el) => el.checked,
  };

  /** {ScoreRequest JSON field: value} of every set data-option element (not the selection). */
  V2M.readSettings = function (doc) {
    const request = {};
    for (const el of doc.querySelectorAll("[data-option]")) {
      const type = el.dataset.type || "text";
      if (type === "time") continue;
      const value = READERS[type](el, el.dataset.option);
      if (value !== undefined && value !== "") request[el.dataset.option] = value;
    }
    return request;
  };
})((globalThis.V2M = globalThis.V2M || {}));
