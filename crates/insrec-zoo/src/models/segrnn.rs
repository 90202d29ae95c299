//! SegRNN (models.md): not ported yet.

super::unported!(SegRnnConfig, "SegRNN");
