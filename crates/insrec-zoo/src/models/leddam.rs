//! Leddam (models.md): not ported yet.

super::unported!(LeddamConfig, "Leddam");
