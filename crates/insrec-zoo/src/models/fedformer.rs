//! FEDformer (models.md): not ported yet.

super::unported!(FedformerConfig, "FEDformer");
