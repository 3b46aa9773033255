// Sound, synthesised with Web Audio: no files to load. Oscillators and a noise buffer shaped by
// envelopes and filters make the engine hum (following thrust), lasers, cannon, missiles, hits
// on shields and hulls, explosions, docking, button clicks and the warning beep; a continuous
// hum while the mining laser runs. Sounds from elsewhere in the system are quieter with
// distance and panned left or right.
//
// Browsers start audio only after a user gesture (autoplay policy): the context is created on
// the first key press, click or touch. Mute and volume are kept in localStorage between visits.

const VOLUME_KEY = "callister.volume";
const MUTED_KEY = "callister.muted";
const DEFAULT_VOLUME = 0.7;
const HEAR_M = 600; // a sound this far away plays at half volume
const MAX_VOICES = 48; // a huge battle cannot pile up nodes without limit

function load(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : v;
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try { localStorage.setItem(key, String(value)); } catch { /* private mode: this visit only */ }
}

// Web Audio nodes made with their fixed settings (the envelopes below set theirs over time)
function gainNode(ctx, value) {
  const g = ctx.createGain();
  g.gain.value = value;
  return g;
}

function oscillatorNode(ctx, type, frequency) {
  const o = ctx.createOscillator();
  o.type = type;
  o.frequency.value = frequency;
  return o;
}

function filterNode(ctx, type, frequency, q) {
  const f = ctx.createBiquadFilter();
  f.type = type;
  f.frequency.value = frequency;
  f.Q.value = q;
  return f;
}

/** A one-shot's envelope: a gain that swells to `peak` in `attack` seconds from `t`, gone by `t + dur`. */
function envelopeNode(ctx, t, attack, dur, peak) {
  const g = ctx.createGain();
  g.gain.setValueAtTime(0.0001, t);
  g.gain.exponentialRampToValueAtTime(peak, t + attack);
  g.gain.exponentialRampToValueAtTime(0.0001, t + dur);
  return g;
}

/** Slide a frequency from f0 to f1 over `dur` seconds from `t` (an exponential ramp: never to 0). */
function glide(frequency, f0, f1, t, dur) {
  frequency.setValueAtTime(f0, t);
  frequency.exponentialRampToValueAtTime(Math.max(1, f1), t + dur);
}

export class Sound {
  constructor() {
    const v = Number(load(VOLUME_KEY, DEFAULT_VOLUME));
    this.volume = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : DEFAULT_VOLUME;
    this.muted = load(MUTED_KEY, "0") === "1";
    this.ctx = null;
    this.master = null;
    this.noise = null;
    this.engine = null; // {gain, filter}: the continuous engine hum
    this.mining = null; // {gain}: the mining laser's hum
    this.voices = 0; // one-shot sounds playing now
    this.counts = {}; // kind -> sounds started (tests read it)
    this.skipped = 0; // sounds not played: muted, no context yet, too many at once
    this.listener = null; // () => {x, y} of our ship, for distance and panning
    this.onChange = null; // (sound) after mute or volume changed
    const unlock = () => this.unlock();
    for (const ev of ["pointerdown", "keydown", "touchend"]) addEventListener(ev, unlock, { capture: true });
  }

  /** Create (or resume) the audio context: call from a user gesture. */
  unlock() {
    if (this.ctx) {
      if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
      return;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try {
      this.ctx = new AC();
    } catch {
      return; // no audio device: the game plays silent
    }
    const ctx = this.ctx;
    // master volume, then a compressor so a battle does not clip
    this.master = gainNode(ctx, this._level());
    const comp = ctx.createDynamicsCompressor();
    comp.threshold.value = -14;
    comp.ratio.value = 6;
    this.master.connect(comp).connect(ctx.destination);
    const len = Math.floor(ctx.sampleRate * 1.5);
    this.noise = ctx.createBuffer(1, len, ctx.sampleRate);
    const data = this.noise.getChannelData(0);
    let seed = 12345;
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed / 2147483648 - 1;
    }
    this._buildEngine();
    this._buildMining();
  }

  _level() {
    // a squared slider feels even to the ear
    return this.muted ? 0 : this.volume * this.volume;
  }

  setVolume(v) {
    this.volume = Math.min(1, Math.max(0, Number(v) || 0));
    save(VOLUME_KEY, this.volume);
    this._applyLevel();
  }

  setMuted(m) {
    this.muted = !!m;
    save(MUTED_KEY, this.muted ? "1" : "0");
    this._applyLevel();
  }

  _applyLevel() {
    if (this.master) this.master.gain.setTargetAtTime(this._level(), this.ctx.currentTime, 0.03);
    this.onChange?.(this);
  }

  // ------------------------------------------------------------------ continuous sounds
  _buildEngine() {
    const ctx = this.ctx;
    const gain = gainNode(ctx, 0);
    const filter = filterNode(ctx, "lowpass", 220, 4);
    for (const [type, f, g] of [["sawtooth", 46, 0.5], ["sawtooth", 69.5, 0.35], ["square", 23, 0.3]]) {
      const o = oscillatorNode(ctx, type, f);
      o.connect(gainNode(ctx, g)).connect(filter);
      o.start();
    }
    const rumble = ctx.createBufferSource();
    rumble.buffer = this.noise;
    rumble.loop = true;
    rumble.connect(filterNode(ctx, "bandpass", 300, 0.8)).connect(gainNode(ctx, 0.55)).connect(filter);
    rumble.start();
    filter.connect(gain).connect(this.master);
    this.engine = { gain, filter };
  }

  _buildMining() {
    const ctx = this.ctx;
    const gain = gainNode(ctx, 0);
    const o = oscillatorNode(ctx, "triangle", 330);
    const lfo = oscillatorNode(ctx, "sine", 7); // a 7 Hz wobble of ±25 Hz
    lfo.connect(gainNode(ctx, 25)).connect(o.frequency);
    o.connect(gain).connect(this.master);
    o.start();
    lfo.start();
    this.mining = { gain };
  }

  /** Follow our ship: thrust 0..1, speed as a fraction of top speed, mining or not. */
  setEngine(thrust, speedFrac, mining) {
    if (!this.engine) return;
    const t = this.ctx.currentTime;
    const on = Math.max(0, Math.min(1, thrust));
    const v = Math.max(0, Math.min(1, speedFrac));
    this.engine.gain.gain.setTargetAtTime(0.025 + on * 0.2 + v * 0.03, t, on ? 0.08 : 0.25);
    this.engine.filter.frequency.setTargetAtTime(180 + on * 520 + v * 160, t, 0.12);
    this.mining.gain.gain.setTargetAtTime(mining ? 0.05 : 0, t, 0.1);
  }

  // ------------------------------------------------------------------ one-shot sounds
  /** A voice's output: gain (and stereo pan) for a sound at world (x, y), or ours (null). */
  _out(at, gain = 1) {
    const ctx = this.ctx;
    let level = gain;
    let pan = 0;
    const me = at && this.listener?.();
    if (me) {
      const dx = at[0] - me.x;
      const dy = at[1] - me.y;
      level *= 1 / (1 + Math.hypot(dx, dy) / HEAR_M);
      pan = Math.max(-1, Math.min(1, dx / 900));
    }
    const g = gainNode(ctx, level);
    if (pan && ctx.createStereoPanner) {
      const p = ctx.createStereoPanner();
      p.pan.value = pan;
      g.connect(p).connect(this.master);
    } else {
      g.connect(this.master);
    }
    return g;
  }

  /** Whether a `kind` sound plays now (counted in `counts`; else in `skipped`). */
  _begin(kind) {
    if (!this.ctx || this.ctx.state !== "running" || this.muted || this.voices >= MAX_VOICES) {
      this.skipped += 1;
      return false;
    }
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    return true;
  }

  /** An oscillator from f0 to f1 over `dur` seconds with an attack/decay envelope. */
  _tone(out, type, f0, f1, dur, peak, when = 0) {
    const ctx = this.ctx;
    const t = ctx.currentTime + when;
    const o = oscillatorNode(ctx, type, f0);
    glide(o.frequency, f0, f1, t, dur);
    o.connect(envelopeNode(ctx, t, 0.008, dur, peak)).connect(out);
    this._track(o, t, dur);
  }

  /** Filtered noise: `type` filter from f0 to f1 over `dur` seconds. */
  _burst(out, type, f0, f1, dur, peak, when = 0, q = 1) {
    const ctx = this.ctx;
    const t = ctx.currentTime + when;
    const src = ctx.createBufferSource();
    src.buffer = this.noise;
    const f = filterNode(ctx, type, f0, q);
    glide(f.frequency, f0, f1, t, dur);
    src.connect(f).connect(envelopeNode(ctx, t, 0.01, dur, peak)).connect(out);
    this._track(src, t, dur, Math.random() * 0.8);
  }

  _track(node, t, dur, offset = 0) {
    this.voices += 1;
    node.onended = () => { this.voices -= 1; };
    node.start(t, offset);
    node.stop(t + dur + 0.05);
  }

  /** A weapon fired: `kind` hitscan / projectile / missile; `heavy` for slow, big guns. */
  weapon(kind, at, heavy = false) {
    const name = kind === "hitscan" ? "laser" : kind === "missile" ? "missile" : "cannon";
    if (!this._begin(name)) return;
    const out = this._out(at);
    if (name === "laser") {
      const f = heavy ? 900 : 1500;
      this._tone(out, heavy ? "sawtooth" : "square", f, f * 0.22, heavy ? 0.26 : 0.15, 0.09);
      this._tone(out, "sine", f * 2, f * 0.5, heavy ? 0.2 : 0.1, 0.05);
    } else if (name === "cannon") {
      this._burst(out, "lowpass", 2200, 250, 0.22, 0.5);
      this._tone(out, "sine", 150, 42, 0.2, 0.55);
    } else {
      this._burst(out, "bandpass", 500, 2600, 0.7, 0.3, 0, 2);
      this._tone(out, "sawtooth", 180, 520, 0.45, 0.05);
    }
  }

  hit(at, shield) {
    if (!this._begin(shield ? "shield" : "hit")) return;
    const out = this._out(at);
    if (shield) {
      this._tone(out, "sine", 1300, 650, 0.2, 0.12);
      this._tone(out, "triangle", 2600, 1900, 0.12, 0.04);
    } else {
      this._burst(out, "highpass", 1800, 900, 0.09, 0.4);
      this._tone(out, "square", 200, 60, 0.12, 0.16);
    }
  }

  explosion(at) {
    if (!this._begin("explosion")) return;
    const out = this._out(at, 1.3);
    this._burst(out, "lowpass", 3200, 90, 1.6, 0.9);
    this._tone(out, "sine", 70, 24, 0.9, 0.9);
    this._burst(out, "bandpass", 900, 200, 0.5, 0.35, 0.12, 1.5);
  }

  dock(undock = false) {
    if (!this._begin(undock ? "undock" : "dock")) return;
    const out = this._out(null);
    if (undock) {
      this._burst(out, "bandpass", 260, 1600, 0.5, 0.3, 0, 1.2);
      this._tone(out, "sine", 90, 180, 0.3, 0.2);
    } else {
      for (const when of [0, 0.17]) {
        this._tone(out, "sine", 120, 50, 0.18, 0.55, when);
        this._burst(out, "lowpass", 700, 120, 0.12, 0.3, when);
      }
    }
  }

  click() {
    if (!this._begin("click")) return;
    this._tone(this._out(null), "sine", 1900, 1400, 0.04, 0.06);
  }

  warning() {
    if (!this._begin("warning")) return;
    const out = this._out(null);
    this._tone(out, "square", 880, 870, 0.09, 0.08);
    this._tone(out, "square", 880, 870, 0.09, 0.08, 0.16);
  }

  /** What is playing, for tests: {state, muted, volume, engine, counts, voices}. */
  snapshot() {
    return {
      state: this.ctx ? this.ctx.state : "none",
      muted: this.muted,
      volume: this.volume,
      level: this._level(), // what the master volume is set to (it glides there)
      gain: this.master ? this.master.gain.value : null,
      engine: !!this.engine,
      engineGain: this.engine ? this.engine.gain.gain.value : 0,
      counts: { ...this.counts },
      skipped: this.skipped,
      voices: this.voices,
    };
  }
}
