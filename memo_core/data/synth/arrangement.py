"""A designed song written as General MIDI, bar by bar.

Every 4/4 bar is one segment whose musical parameters (mode, harmony,
voicing, note density, articulation, velocity, percussion) come from the
design's mean valence and arousal over that bar, following the cue table in
:mod:`.design`. :func:`.render.render_audio` calls ``_build_midi`` and renders
the result.
"""

from __future__ import annotations

import math

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.data.synth.design import SongDesign, Style

#: Nothing public: the package's rendering (:mod:`.render`) calls ``_build_midi``.
__all__: list[str] = []


_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as scale degrees (0-based); 4 in minor is played as a major V.
_MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 3), (0, 5, 3, 4), (0, 3, 0, 4), (3, 0, 4, 5))
_MINOR_PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 5, 4), (0, 5, 3, 4))


def _scale_pitch(tonic: int, scale, degree: int, octave_base: int) -> int:
    """MIDI pitch of a scale degree (any integer) above the C of octave_base."""
    octave, step = divmod(degree, 7)
    return octave_base + tonic + 12 * octave + scale[step]


def _near(pitch: int, centre: float) -> int:
    """Transpose by octaves to the octave nearest centre."""
    return int(pitch + 12 * round((centre - pitch) / 12))


def _build_midi(design: SongDesign, style: Style, rng: np.random.Generator, *, duration_s: float):
    """The song as a PrettyMIDI object, plus the per-section modes.

    Returns:
        ``(midi, modes)``: the PrettyMIDI object and one of ``"major"`` /
        ``"minor"`` per section.
    """
    # lazy: pretty_midi (and mido) only when MIDI is rendered
    import pretty_midi

    def instrument(program: int, name: str, *, drum: bool = False):
        inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
        midi.instruments.append(inst)
        return inst

    def note(inst, pitch: float, start: float, length: float, velocity: float) -> None:
        end = min(start + max(length, 0.05), duration_s + 1.0)
        if start >= duration_s:
            return
        inst.notes.append(pretty_midi.Note(velocity=int(np.clip(velocity, 1, 127)), pitch=int(np.clip(pitch, 0, 127)),
                                           start=float(start), end=float(end)))

    midi = pretty_midi.PrettyMIDI(initial_tempo=design.tempo_bpm)
    melody = instrument(style.programs["melody"], "melody")
    melody_hi = instrument(style.programs["melody"], "melody-octave")
    chords = instrument(style.programs["chords"], "chords")
    rough = instrument(style.programs["chords"], "chords-detuned")
    rough.pitch_bends.append(pretty_midi.PitchBend(int(style.detune_cents / 100 * 4096), 0.0))
    bass = instrument(style.programs["bass"], "bass")
    layer = instrument(style.programs["layer"], "layer")
    drums = instrument(style.drum_kit, "drums", drum=True)

    beat = 60.0 / design.tempo_bpm
    n_frames = len(design.arousal)
    n_sections = int(design.section_of_bar.max()) + 1 if len(design.section_of_bar) else 1
    # Mode per section from its mean valence: P(major) = sigmoid(v / 0.12).
    modes = []
    for s in range(n_sections):
        bars = np.flatnonzero(design.section_of_bar == s)
        f0 = int(design.bar_starts[bars[0]] / FRAME_SECONDS)
        f1 = int(min(n_frames, math.ceil((design.bar_starts[bars[-1]] + 4 * beat) / FRAME_SECONDS)))
        v = float(design.valence[f0:max(f1, f0 + 1)].mean())
        p_major = 1 / (1 + math.exp(-(v + style.mode_bias) / 0.12))
        modes.append("major" if rng.random() < p_major else "minor")
    progression_major = _MAJOR_PROGRESSIONS[rng.integers(len(_MAJOR_PROGRESSIONS))]
    progression_minor = _MINOR_PROGRESSIONS[rng.integers(len(_MINOR_PROGRESSIONS))]
    melody_degree = int(rng.integers(0, 5))
    jitter = style.thresholds

    for b, t0 in enumerate(design.bar_starts):
        f0 = int(t0 / FRAME_SECONDS)
        f1 = max(f0 + 1, int(math.ceil((t0 + 4 * beat) / FRAME_SECONDS)))
        a = float(design.arousal[f0:f1].mean())
        v = float(design.valence[f0:f1].mean())
        x = (a + 1) / 2
        section = int(design.section_of_bar[b])
        minor = modes[section] == "minor"
        scale = _MINOR if minor else _MAJOR
        progression = progression_minor if minor else progression_major
        degree = progression[b % 4]
        new_section = b == 0 or design.section_of_bar[b - 1] != section
        vel = 40 + 75 * x
        artic = 1.05 - 0.6 * x

        # Chord tones (pitch classes via the scale) voiced around MIDI 60.
        tones = [_scale_pitch(style.tonic, scale, degree + k, 48) for k in (0, 2, 4)]
        if minor and degree == 4:   # harmonic minor: major V, the leading tone
            tones[1] += 1
        tones = [_near(p, 60 + 4 * v) for p in tones]
        root = tones[0]
        tension_p = 0.8 * max(0.0, -v)
        extra = []
        if rng.random() < tension_p:
            extra.append(root + 1 if rng.random() < 0.6 else root + 6)   # b9 or tritone
        elif v > 0.1 and rng.random() < 0.6 * v + 0.2:
            extra.append(root + (9 if rng.random() < 0.5 else 14))       # add6 / add9
        voicing = sorted(set(tones + extra))

        # Chords: whole notes when calm, halves/quarters in between, 8th stabs when excited.
        rough_level = min(1.0, 1.2 * max(0.0, -v))
        hits_per_bar = int(rng.choice([1, 2, 4, 8], p=_soft_choice([0.15, 0.4, 0.65, 0.9], x)))
        step = 4 * beat / hits_per_bar
        # The detuned double must add roughness, not loudness (loudness is an arousal cue):
        # both parts drop so the pair sounds about as loud as the chord alone.
        rough_on = rough_level > 0.05
        chord_vel = (vel - 8) * (1 - 0.25 * rough_level) if rough_on else vel - 8
        for h in range(hits_per_bar):
            accent = 8 if h == 0 else 0
            for p in voicing:
                note(chords, p, t0 + h * step, step * (artic if hits_per_bar > 1 else 1.05), chord_vel + accent)
                if rough_on:
                    note(rough, p, t0 + h * step, step * (artic if hits_per_bar > 1 else 1.05),
                         chord_vel * (0.55 + 0.35 * rough_level))

        # Bass.
        bass_root = _near(root, 40 + 4 * v)
        bass_hits = int(rng.choice([1, 2, 4, 8], p=_soft_choice([0.15, 0.4, 0.6, 0.85], x)))
        step = 4 * beat / bass_hits
        for h in range(bass_hits):
            p = bass_root + (7 if (bass_hits >= 2 and h % 4 == 2 and rng.random() < 0.5) else 0)
            p += 12 if (bass_hits == 8 and h % 2 == 1 and rng.random() < 0.3) else 0
            note(bass, p, t0 + h * step, step * min(1.0, artic + 0.1), vel - 2)

        # Sustained layer above x = 0.55 (loudness, fullness, brightness).
        if x > 0.55 + jitter:
            for p in tones:
                note(layer, p + 12, t0, 4 * beat, 30 + 110 * (x - 0.55))

        # Melody: a scale-degree random walk, chord tones on the downbeat.
        density = 2.0 ** (3 * x - 1)
        sub = float(np.clip(2.0 ** round(math.log2(density) + rng.normal(0, 0.35)), 0.5, 4.0))
        # Cap at about 9 notes a second so fast songs stay playable.
        while sub > 0.5 and sub / beat > 9:
            sub /= 2
        slot = beat / sub
        n_slots = int(round(4 * beat / slot))
        centre = 67 + 10 * v + 2 * a
        play_p = 0.55 + 0.4 * x
        for k in range(n_slots):
            start = t0 + k * slot
            if k == 0:
                melody_degree = degree + int(rng.choice([0, 2, 4]))
            else:
                melody_degree += int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            pitch = _scale_pitch(style.tonic, scale, melody_degree, 60)
            if minor and (melody_degree % 7) == 6 and degree == 4:
                pitch += 1
            # Keep the line near its register centre by folding octaves.
            while pitch > centre + 8:
                pitch -= 12
                melody_degree -= 7
            while pitch < centre - 8:
                pitch += 12
                melody_degree += 7
            if k > 0 and rng.random() > play_p:
                continue
            v_note = vel + (8 if k == 0 else 0) + rng.normal(0, 5)
            note(melody, pitch, start, slot * artic, v_note)
            if x > 0.7 + jitter:
                note(melody_hi, pitch + 12, start, slot * artic, v_note * 0.7)

        # Percussion.
        th = jitter
        dv = 40 + 80 * x
        for q in range(8):                 # 8th-note grid
            t = t0 + q * beat / 2
            on_beat = q % 2 == 0
            if x < 0.3 + th:
                continue
            if x < 0.45 + th:               # light: ride and side stick
                if on_beat:
                    note(drums, 51, t, 0.1, dv - 10)
                if q in (2, 6):
                    note(drums, 37, t, 0.1, dv - 10)
                continue
            if q in (0, 4) or (x > 0.7 + th and q in (3, 5) and rng.random() < 0.5):
                note(drums, 36, t, 0.1, dv)
            if q in (2, 6):
                note(drums, 38, t, 0.1, dv)
            hat = 46 if (x > 0.65 + th and q == 7 and rng.random() < 0.5) else 42
            note(drums, hat, t, 0.1, dv - 15 + (8 if on_beat else 0))
            if x > 0.75 + th:               # 16th hats
                note(drums, 42, t + beat / 4, 0.05, dv - 25)
        if x > 0.6 + th and (new_section or b % 4 == 0):
            note(drums, 49, t0, 0.5, dv)
    for inst in midi.instruments:
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments = [inst for inst in midi.instruments if inst.notes]
    return midi, modes


def _soft_choice(centres, x: float) -> np.ndarray:
    """Probabilities over options centred at ``centres`` for a value x (softmax of -distance^2)."""
    c = np.asarray(centres)
    w = np.exp(-((c - x) ** 2) / (2 * 0.12**2)) + 1e-3
    return w / w.sum()
