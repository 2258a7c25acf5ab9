/* The "Score selection" panel: the same UI in a browser and in Premiere (UXP). It talks to
 * the v2m service over the WebSocket bridge and to the editor through a host adapter
 * (host_browser.js or ../premiere/host_premiere.js). window.v2mPanel exposes its state. */
(function (V2M) {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const HEADLINES = {
    INVALID_ARGUMENT: "The server refused this request",
    NOT_FOUND: "Not found",
    PERMISSION_DENIED: "The server may not read that file",
    FAILED_PRECONDITION: "The server cannot do this yet",
    RESOURCE_EXHAUSTED: "The server is busy or a limit was reached",
    UNAUTHENTICATED: "This server needs its access token",
    UNAVAILABLE: "The v2m server cannot be reached",
    DEADLINE_EXCEEDED: "The server took too long",
    UNIMPLEMENTED: "The server does not know this call (is it an older v2m?)",
    INTERNAL: "The server hit an internal error",
  };

  const premiere = typeof V2M.createPremiereHost === "function" && V2M.premiereAvailable();
  const host = premiere ? V2M.createPremiereHost(V2M.premiereModules()) : V2M.createBrowserHost(document);
  const storage = globalThis.localStorage;

  function serverUrl() {
    if (!premiere && location.protocol.startsWith("http")) {
      return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`;
    }
    return (storage && storage.getItem("v2m.server")) || "ws://127.0.0.1:50052/v1/ws";
  }

  const state = {
    host: host.name,
    events: [], // {kind, at}: what happened when (ms since page load)
    running: false,
    call: null,
    jobId: "",
    seed: 0,
    stages: new Map(),
    overall: null,
    result: null,
    plan: null,
    error: null,
  };
  const view = new V2M.TimelineView($("timeline"));
  const client = new V2M.BridgeClient(serverUrl(), {
    token: (storage && storage.getItem(`v2m.token:${serverUrl()}`)) || "",
  });
  let assembler = new V2M.StemAssembler();
  let lastSelection = null;

  function note(kind) {
    state.events.push({ kind, at: performance.now() });
  }

  function showError(error) {
    const code = error.code || "";
    state.error = { code, message: error.message };
    note("error");
    const box = $("error");
    box.hidden = false;
    box.textContent = code && code !== "CANCELLED"
      ? `${HEADLINES[code] || code}: ${error.message}`
      : error.message;
    if (code === "UNAUTHENTICATED") $("auth").hidden = false;
  }

  function clearError() {
    state.error = null;
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function setRunning(running) {
    state.running = running;
    $("score").disabled = running;
    $("regenerate").disabled = running || !lastSelection;
    $("cancel").disabled = !running;
  }

  // ---- progress ---------------------------------------------------------------------------
  // Progress.fraction is the job's overall fraction; Progress.stage names what runs now. The
  // top bar shows the whole job; each stage has its own bar: running (indeterminate) while it
  // is the current one, full once a later stage has begun.
  function stageRow(label, extraClass) {
    const el = document.createElement("div");
    el.className = `stage ${extraClass || ""}`;
    el.innerHTML = "<span></span><progress max='1'></progress><span class='muted'></span>";
    el.children[0].textContent = label;
    $("progress").appendChild(el);
    return { el, bar: el.children[1], pct: el.children[2] };
  }

  function finishStage(row) {
    row.bar.value = 1;
    row.pct.textContent = "✓";
  }

  function progress(stage, fraction) {
    if (!state.overall) state.overall = stageRow("overall", "overall");
    state.overall.bar.value = fraction;
    state.overall.pct.textContent = `${Math.round(fraction * 100)}%`;
    if (stage !== "done" && !state.stages.has(stage)) {
      for (const other of state.stages.values()) finishStage(other);
      const row = stageRow(stage);
      row.pct.textContent = "…";
      state.stages.set(stage, row);
    }
    note("progress");
  }

  // ---- results ----------------------------------------------------------------------------
  function framesOff(hit) {
    return hit.errorFrames || 0;
  }

  function showPlan(plan) {
    state.plan = plan;
    view.setPlan(plan);
    const body = $("hits").querySelector("tbody");
    body.textContent = "";
    const fps = plan.frameRateHz || 25;
    for (const hit of plan.hits || []) {
      const tr = document.createElement("tr");
      const off = framesOff(hit);
      const cells = [
        hit.kind,
        V2M.timecode(hit.plannedS || 0, fps),
        V2M.timecode(hit.achievedS || 0, fps),
        `${off > 0 ? "+" : ""}${off.toFixed(1)}`,
        (hit.beat || 0).toFixed(1),
      ];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 3 && Math.abs(off) > 1) td.className = off > 0 ? "late" : "early";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
  }

  function showSummary(result) {
    const hits = (result.plan && result.plan.hits) || [];
    const offs = hits.map((h) => Math.abs(framesOff(h)));
    const mean = offs.length ? offs.reduce((a, b) => a + b, 0) / offs.length : 0;
    const within = offs.filter((o) => o <= 1).length;
    const loud = result.loudness || {};
    const plan = result.plan || {};
    $("summary").textContent =
      `${plan.style || ""} · ${plan.key || ""} · ${Math.round(plan.bpmMin || 0)}` +
      `${plan.bpmMax && Math.round(plan.bpmMax) !== Math.round(plan.bpmMin) ? "–" + Math.round(plan.bpmMax) : ""} BPM — ` +
      `${hits.length} hits, mean ${mean.toFixed(2)} frames off, ${within}/${hits.length} within ±1 frame — ` +
      `loudness ${(loud.integratedLufs || 0).toFixed(1)} LUFS (target ${(loud.targetLufs || 0).toFixed(0)}), ` +
      `true peak ${(loud.truePeakDbtp || 0).toFixed(1)} dBTP`;
  }

  /** The retime engine's other tracks that fit (from the result's metadata): a button each
   * that scores the selection again with that track. */
  function showAlternatives(result) {
    let metadata = {};
    try {
      metadata = JSON.parse(result.metadataJson || "{}");
    } catch (error) {
      metadata = {};
    }
    const others = (metadata.alternatives || []).filter((a) => a.music !== metadata.music);
    const list = $("alternatives-list");
    list.textContent = "";
    for (const alt of others) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "alternative";
      button.dataset.music = alt.music;
      const name = alt.music.split(/[\\/]/).pop();
      button.textContent = `${name} (${alt.cuts_hit} cuts, stretch ${(100 * alt.largest_stretch).toFixed(1)} %)`;
      button.title = `Score again with ${alt.music}`;
      button.onclick = () => {
        $("opt-music").value = alt.music;
        score();
      };
      list.appendChild(button);
    }
    $("alternatives").hidden = others.length === 0;
  }

  function addStemRow(name) {
    const body = $("stems").querySelector("tbody");
    const tr = document.createElement("tr");
    tr.dataset.stem = name;
    const audio = new Audio();
    audio.src = URL.createObjectURL(assembler.wavBlob(name));
    audio.preload = "auto";
    const cell = (el) => {
      const td = document.createElement("td");
      td.appendChild(el);
      tr.appendChild(td);
    };
    const label = document.createElement("span");
    label.textContent = name;
    const button = (text, title) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.title = title;
      return b;
    };
    const play = button("▶", `play ${name}`);
    play.className = "play";
    const solo = button("S", "solo");
    const mute = button("M", "mute");
    play.onclick = () => (audio.paused ? audio.play() : audio.pause());
    audio.onplay = () => (play.textContent = "❚❚");
    audio.onpause = () => (play.textContent = "▶");
    solo.onclick = () => {
      solo.classList.toggle("on");
      applyMix();
    };
    mute.onclick = () => {
      mute.classList.toggle("on");
      applyMix();
    };
    [label, play, solo, mute].forEach(cell);
    tr.appendChild(audio);
    tr.v2m = { audio, solo, mute };
    body.appendChild(tr);
    $("result").hidden = false;
    note("stem");
  }

  function stemRows() {
    return [...$("stems").querySelectorAll("tr")].filter((tr) => tr.dataset.stem !== "mix");
  }

  function applyMix() {
    const rows = stemRows();
    const anySolo = rows.some((tr) => tr.v2m.solo.classList.contains("on"));
    for (const tr of rows) {
      const { audio, solo, mute } = tr.v2m;
      audio.muted = mute.classList.contains("on") || (anySolo && !solo.classList.contains("on"));
    }
  }

  function playAll() {
    const rows = stemRows();
    const playing = rows.some((tr) => !tr.v2m.audio.paused);
    applyMix();
    for (const tr of rows) {
      const a = tr.v2m.audio;
      if (playing) a.pause();
      else {
        a.currentTime = 0;
        a.play();
      }
    }
    $("play-all").textContent = playing ? "Play stems" : "Stop";
  }

  // ---- scoring ----------------------------------------------------------------------------
  function resetRun() {
    clearError();
    state.stages.clear();
    state.overall = null;
    $("progress").textContent = "";
    $("stems").querySelector("tbody").textContent = "";
    $("hits").querySelector("tbody").textContent = "";
    $("summary").textContent = "";
    $("downloads").textContent = "";
    $("place-state").textContent = "";
    $("result").hidden = true;
    assembler = new V2M.StemAssembler();
    view.reset();
    state.result = null;
    state.plan = null;
    state.jobId = "";
  }

  function onEvent(event) {
    if (event.accepted) {
      state.jobId = event.accepted.jobId;
      note("accepted");
    } else if (event.progress) {
      progress(event.progress.stage || "working", event.progress.fraction || 0);
    } else if (event.curve) {
      view.setCurve(event.curve);
      note("curve-drawn");
    } else if (event.planned) {
      view.setPlan(event.planned);
      note("planned");
    } else if (event.plan) {
      showPlan(event.plan);
      note("plan");
    } else if (event.stem) {
      if (assembler.add(event.stem)) addStemRow(event.stem.name);
    } else if (event.result) {
      state.result = event.result;
      showPlan(event.result.plan || state.plan || {});
      showSummary(event.result);
      showAlternatives(event.result);
      note("result");
    }
  }

  async function score({ newSeed = false } = {}) {
    if (state.running) return;
    resetRun();
    setRunning(true);
    note("start");
    try {
      const selection = newSeed && lastSelection ? lastSelection : await host.getSelection();
      lastSelection = selection;
      $("host-selection").textContent = selection.label || "";
      let media = selection.media;
      if (selection.upload) {
        const { blob, filename } = selection.upload;
        progress("uploading", 0);
        const row = state.stages.get("uploading");
        const uploaded = await client.upload(blob, filename, (f) => {
          row.bar.value = f; // the upload's own fraction (the job has not started)
          row.pct.textContent = `${Math.round(f * 100)}%`;
        });
        media = { uploadId: uploaded.uploadId };
        selection.media = media; // a regeneration reuses the upload
        selection.upload = null;
      }
      const settings = V2M.readSettings(document);
      state.seed = newSeed ? state.seed + 1 : Number(settings.seed || 0);
      const request = {
        ...settings,
        media,
        seed: String(state.seed),
        inS: selection.inS || 0,
        outS: selection.outS || 0,
        markersS: [...(selection.markersS || []), ...(settings.markersS || [])],
      };
      state.call = await client.start("Score", request, { onMessage: onEvent });
      await state.call.done;
      note("done");
      for (const row of state.stages.values()) finishStage(row);
    } catch (error) {
      showError(error);
    } finally {
      state.call = null;
      setRunning(false);
    }
  }

  async function place() {
    if (!state.result) return;
    $("place").disabled = true;
    try {
      const message = await host.placeResult({
        assembler,
        result: state.result,
        plan: state.result.plan || state.plan,
        selection: lastSelection,
      });
      $("place-state").textContent = message;
      note("placed");
    } catch (error) {
      showError(error);
    } finally {
      $("place").disabled = false;
    }
  }

  // ---- connection ---------------------------------------------------------------------------
  async function connect() {
    $("server-state").textContent = "connecting…";
    try {
      const info = await client.unary("GetServerInfo");
      $("auth").hidden = true;
      $("server-state").textContent = `server ${info.version} · ${client.url.replace("/v1/ws", "")}`;
      const backends = (await client.unary("ListBackends")).backends || [];
      const select = $("backend");
      select.textContent = "";
      for (const b of backends) {
        const option = document.createElement("option");
        option.value = b.name;
        option.textContent = b.available ? b.name : `${b.name} (unavailable)`;
        option.disabled = !b.available;
        option.title = b.available ? b.summary : b.reason;
        select.appendChild(option);
      }
      note("connected");
    } catch (error) {
      $("server-state").textContent = "not connected";
      showError(error);
    }
  }

  function init() {
    $("browser-media").hidden = premiere;
    $("server-settings").hidden = !premiere;
    $("server-url").value = client.url;
    $("host-selection").textContent = premiere ? "the active sequence's in/out" : "";
    $("score").onclick = () => score();
    $("regenerate").onclick = () => score({ newSeed: true });
    $("cancel").onclick = () => state.call && state.call.cancel();
    $("play-all").onclick = playAll;
    $("place").onclick = place;
    $("place").textContent = premiere ? "Send to timeline" : "Download";
    $("token-save").onclick = () => {
      client.token = $("token").value;
      if (storage) storage.setItem(`v2m.token:${client.url}`, client.token);
      clearError();
      connect();
    };
    $("server-save").onclick = () => {
      client.url = $("server-url").value.trim();
      if (storage) storage.setItem("v2m.server", client.url);
      clearError();
      connect();
    };
    setRunning(false);
    connect();
  }

  globalThis.v2mPanel = { state, view, client, score, place, get assembler() { return assembler; } };
  init();
})((globalThis.V2M = globalThis.V2M || {}));
