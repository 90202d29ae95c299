//! FiLM (models.md): not ported yet.

super::unported!(FilmConfig, "FiLM");
