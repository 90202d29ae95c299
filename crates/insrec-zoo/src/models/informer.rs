//! Informer (models.md): not ported yet.

super::unported!(InformerConfig, "Informer");
