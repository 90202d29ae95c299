//! Crossformer (models.md): not ported yet.

super::unported!(CrossformerConfig, "Crossformer");
