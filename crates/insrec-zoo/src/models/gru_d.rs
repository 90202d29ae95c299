//! GRU_D (models.md): not ported yet.

super::unported!(GruDConfig, "GRU_D");
