//! TSMixer (models.md): not ported yet.

super::unported!(TsMixerConfig, "TSMixer");
