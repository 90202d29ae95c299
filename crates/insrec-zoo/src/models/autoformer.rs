//! Autoformer (models.md): not ported yet.

super::unported!(AutoformerConfig, "Autoformer");
