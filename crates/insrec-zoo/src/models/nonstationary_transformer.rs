//! Nonstationary_Transformer (models.md): not ported yet.

super::unported!(NonstationaryTransformerConfig, "Nonstationary_Transformer");
