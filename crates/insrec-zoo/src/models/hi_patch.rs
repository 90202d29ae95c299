//! Hi_Patch (models.md): not ported yet.

super::unported!(HiPatchConfig, "Hi_Patch");
