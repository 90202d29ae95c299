//! Raindrop (models.md): not ported yet.

super::unported!(RaindropConfig, "Raindrop");
