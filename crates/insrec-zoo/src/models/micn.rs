//! MICN (models.md): not ported yet.

super::unported!(MicnConfig, "MICN");
