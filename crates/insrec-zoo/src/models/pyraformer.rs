//! Pyraformer (models.md): not ported yet.

super::unported!(PyraformerConfig, "Pyraformer");
