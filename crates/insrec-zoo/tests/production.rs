//! At the production config, each model has exactly the tensors of the real PyOmniTS
//! checkpoint (`shared/reference/pyomnits_production_state_dicts.json`): a checkpoint with
//! those names and shapes loads strictly, and the element count matches (burn counts BatchNorm
//! running statistics too, PyTorch's `n_parameters` does not; neither counts `pe`).

mod common;

use burn::module::Module;
use burn::tensor::Device;
use insrec_zoo::ModelKind;
use serde_json::Value;

/// A safetensors file of zeros with the production names, shapes and dtypes of `kind`, and the
/// number of elements in its float tensors other than the sinusoid tables `*.pe`.
fn production_checkpoint(kind: ModelKind) -> (Vec<u8>, usize) {
    let path =
        insrec_testutil::fixtures_dir().join("../reference/pyomnits_production_state_dicts.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("valid json");
    let entry = &json[kind.name()];
    let tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = entry["state_dict"]
        .as_array()
        .expect("state_dict list")
        .iter()
        .map(|t| {
            let name = t[0].as_str().expect("name").to_owned();
            let shape: Vec<usize> = t[1]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim") as usize)
                .collect();
            let (dtype, width) = match t[2].as_str() {
                Some("int64") => (safetensors::Dtype::I64, 8),
                _ => (safetensors::Dtype::F32, 4),
            };
            let bytes = vec![0u8; shape.iter().product::<usize>() * width];
            (name, dtype, shape, bytes)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            (
                name.clone(),
                safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes).expect("view"),
            )
        })
        .collect();
    let n_elements = tensors
        .iter()
        .filter(|(name, dtype, ..)| *dtype == safetensors::Dtype::F32 && !name.ends_with(".pe"))
        .map(|(_, _, shape, _)| shape.iter().product::<usize>())
        .sum();
    (
        safetensors::serialize(views, None).expect("serialize"),
        n_elements,
    )
}

fn check_production(kind: ModelKind) {
    let (bytes, n_elements) = production_checkpoint(kind);
    let device = Device::flex();
    let mut model = kind
        .production_config()
        .init(&device)
        .expect("production config builds");
    assert_eq!(
        model.num_params(),
        n_elements,
        "{kind}: element count vs the PyTorch checkpoint"
    );
    model
        .load_pytorch_safetensors_bytes(bytes)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `production!(test_name => ModelKind variant);` — one line per model.
macro_rules! production {
    ($($test:ident => $kind:ident;)*) => {$(
        #[test]
        fn $test() {
            check_production(ModelKind::$kind);
        }
    )*};
}

production! {
    linear => Linear;
    dlinear => DLinear;
    transformer => Transformer;
    patchtst => PatchTst;
    lightts => LightTs;
    frets => FreTs;
    itransformer => ITransformer;
    gru_d => GruD;
    tide => TiDe;
    autoformer => Autoformer;
    tsmixer => TsMixer;
    nonstationary_transformer => NonstationaryTransformer;
    mambasimple => MambaSimple;
    segrnn => SegRnn;
    fedformer => Fedformer;
    hi_patch => HiPatch;
    informer => Informer;
    timesnet => TimesNet;
    reformer => Reformer;
    mtan => MTan;
    primenet => PrimeNet;
    raindrop => Raindrop;
    pyraformer => Pyraformer;
    crossformer => Crossformer;
    micn => Micn;
    film => Film;
    leddam => Leddam;
}
