"""Songs rendered from MIDI with FluidSynth, for the demo, profiling, training and tests.

The engine never imports this package. ``compose`` writes a song's parts, ``midi`` its
Standard MIDI Files, ``fluidsynth`` renders MIDI to audio, ``attack`` measures each patch's
onset delay so sung notes land on the beat, ``stems`` renders and mixes separate stems, and
``default`` is the built-in song the demo separates.
"""
