//! Reformer (models.md): not ported yet.

super::unported!(ReformerConfig, "Reformer");
