//! iTransformer (models.md): not ported yet.

super::unported!(ITransformerConfig, "iTransformer");
