//! Reading and writing InstruNET weights files: safetensors whose `__metadata__` header carries the
//! [`ModelSpec`].
//!
//! Loading checks everything before anything uses the weights: that the bytes are safetensors at
//! all, the metadata (see [`ModelSpec::from_metadata`]), that exactly the network's tensors are
//! there with their shapes and dtype, that the output layer matches the class list, and that every
//! value is finite. Each failure is a [`WeightsError`] naming the problem. candle's own
//! `safetensors::save` writes no metadata, so writing goes through the safetensors crate directly.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::distr::{Distribution, Uniform};
use rand::{SeedableRng, rngs::StdRng};
use safetensors::tensor::{Dtype, SafeTensors};

use crate::error::WeightsError;
use crate::shape::{TIME_MAX_GATE, tensor_shapes};
use crate::spec::{ModelSpec, NetworkKind};

/// The network's tensors by name, as plain f32 values in row-major order, with their shapes.
/// Ordered by name so that files written from it are byte-for-byte reproducible.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMap(pub BTreeMap<String, (Vec<usize>, Vec<f32>)>);

impl TensorMap {
    /// Values of tensor `name`, if present.
    pub fn values(&self, name: &str) -> Option<&[f32]> {
        self.0.get(name).map(|(_, v)| v.as_slice())
    }

    /// Converts to candle tensors on `device`.
    pub fn to_tensors(&self, device: &Device) -> Result<HashMap<String, Tensor>, WeightsError> {
        self.0
            .iter()
            .map(|(name, (shape, values))| {
                Ok((
                    name.clone(),
                    Tensor::from_slice(values, shape.as_slice(), device)?,
                ))
            })
            .collect()
    }

    /// A `VarBuilder` over these tensors on `device`, for building an [`crate::InstruNet`].
    pub fn var_builder(&self, device: &Device) -> Result<VarBuilder<'static>, WeightsError> {
        Ok(VarBuilder::from_tensors(
            self.to_tensors(device)?,
            candle_core::DType::F32,
            device,
        ))
    }

    /// Reads every variable of a `VarMap` (as training holds them).
    pub fn from_varmap(varmap: &VarMap) -> Result<Self, WeightsError> {
        let data = varmap.data().lock().expect("VarMap lock poisoned");
        let mut map = BTreeMap::new();
        for (name, var) in data.iter() {
            let t = var.as_tensor();
            let values = t
                .flatten_all()?
                .to_dtype(candle_core::DType::F32)?
                .to_vec1::<f32>()?;
            map.insert(name.clone(), (t.dims().to_vec(), values));
        }
        Ok(Self(map))
    }

    /// Writes these values into the matching variables of a `VarMap` (to resume training or to
    /// start it from a given initialisation). Every variable of the map must be present here.
    pub fn copy_into_varmap(&self, varmap: &VarMap) -> Result<(), WeightsError> {
        let data = varmap.data().lock().expect("VarMap lock poisoned");
        for (name, var) in data.iter() {
            let (shape, values) = self
                .0
                .get(name)
                .ok_or_else(|| WeightsError::MissingTensor(name.clone()))?;
            if shape.as_slice() != var.dims() {
                return Err(WeightsError::Shape {
                    tensor: name.clone(),
                    expected: var.dims().to_vec(),
                    got: shape.clone(),
                });
            }
            var.set(&Tensor::from_slice(values, shape.as_slice(), var.device())?)?;
        }
        Ok(())
    }

    /// A deterministic random initialisation for the network `spec` describes, following
    /// PyTorch's defaults (uniform ±1/√fan_in for conv and linear weights and biases; BatchNorm
    /// weight 1, bias 0, running mean 0, running variance 1).
    pub fn random_init(spec: &ModelSpec, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut map = BTreeMap::new();
        let mut fan_in = 1;
        for (name, shape) in tensor_shapes(spec) {
            let n: usize = shape.iter().product();
            let values = if name.ends_with(".weight") && !name.starts_with("bn") {
                fan_in = shape[1..].iter().product();
                uniform(&mut rng, n, fan_in)
            } else if name.ends_with(".bias") && !name.starts_with("bn") {
                uniform(&mut rng, n, fan_in)
            } else if name.ends_with(".weight")
                || name.ends_with("running_var")
                || name == TIME_MAX_GATE
            {
                // BatchNorm's scale and variance; the gate starts at PANNs' mean + max.
                vec![1.0; n]
            } else {
                vec![0.0; n]
            };
            map.insert(name, (shape, values));
        }
        Self(map)
    }
}

fn uniform(rng: &mut StdRng, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let dist = Uniform::new_inclusive(-bound, bound).expect("bound is finite and positive");
    (0..n).map(|_| dist.sample(rng)).collect()
}

/// A validated weights file: what it says about itself and its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub spec: ModelSpec,
    pub tensors: TensorMap,
}

impl Weights {
    /// Parses and validates weights from the bytes of a safetensors file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let (_, metadata) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let spec = ModelSpec::from_metadata(metadata.metadata().as_ref())?;
        let tensors = read_tensors(&st, &spec)?;
        Ok(Self { spec, tensors })
    }

    /// What the bytes of a weights file say about themselves (the header's [`ModelSpec`]),
    /// without reading or checking the tensors: cheap enough for a plugin's constructor.
    pub fn spec_from_bytes(bytes: &[u8]) -> Result<ModelSpec, WeightsError> {
        let (_, metadata) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        ModelSpec::from_metadata(metadata.metadata().as_ref())
    }

    /// The spec and f32 tensors of a weights file, the tensors *not* checked against InstruNET's
    /// network: for other networks stored in the same format (the training tool's baseline).
    pub fn parts_from_bytes(bytes: &[u8]) -> Result<(ModelSpec, TensorMap), WeightsError> {
        let (_, metadata) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let spec = ModelSpec::from_metadata(metadata.metadata().as_ref())?;
        Ok((spec, TensorMap(f32_tensors(&st)?)))
    }

    /// Reads, parses and validates a weights file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Builds validated weights from a spec and tensors (checks them as loading would).
    pub fn new(spec: ModelSpec, tensors: TensorMap) -> Result<Self, WeightsError> {
        spec.validate()?;
        check_tensors(
            &spec,
            tensors
                .0
                .iter()
                .map(|(n, (s, v))| (n.as_str(), s.clone(), v.as_slice())),
        )?;
        Ok(Self { spec, tensors })
    }

    /// Deterministic random weights with InstruNET's default spec, for tests and for the embedded
    /// default until trained weights exist.
    pub fn random(spec: ModelSpec, seed: u64) -> Self {
        let tensors = TensorMap::random_init(&spec, seed);
        Self { spec, tensors }
    }

    /// Serialises to safetensors bytes, the spec in the metadata header. The header is written
    /// with sorted keys (the safetensors crate's writer orders metadata at random), so the same
    /// weights always give the same bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        self.to_bytes_with(&BTreeMap::new())
    }

    /// [`Weights::to_bytes`] with more metadata entries beside the spec's (a training
    /// checkpoint's progress); an entry may not reuse one of the spec's keys.
    pub fn to_bytes_with(&self, extra: &BTreeMap<String, String>) -> Result<Vec<u8>, WeightsError> {
        let mut meta: BTreeMap<String, String> = self.spec.to_metadata().into_iter().collect();
        for (key, value) in extra {
            if meta.insert(key.clone(), value.clone()).is_some() {
                return Err(WeightsError::BadMetadata {
                    key: key.clone(),
                    reason: "the spec writes this entry itself".into(),
                });
            }
        }
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::json!(meta));
        let mut data = Vec::new();
        for (name, (shape, values)) in &self.tensors.0 {
            let start = data.len();
            data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let mut json = serde_json::Value::Object(header).to_string().into_bytes();
        // The format pads the header with spaces to a multiple of 8 bytes.
        json.resize(json.len().div_ceil(8) * 8, b' ');
        let mut bytes = Vec::with_capacity(8 + json.len() + data.len());
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&json);
        bytes.extend_from_slice(&data);
        Ok(bytes)
    }

    /// Writes the weights file, via a temporary file so that a failed write never leaves a
    /// half-written file under the final name.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        self.save_with(path, &BTreeMap::new())
    }

    /// [`Weights::save`] with more metadata entries (see [`Weights::to_bytes_with`]).
    pub fn save_with(
        &self,
        path: impl AsRef<Path>,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), WeightsError> {
        let path = path.as_ref();
        let io = |source| WeightsError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = self.to_bytes_with(extra)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Every metadata entry of a weights file's header, the spec's and any others.
    pub fn metadata_from_bytes(bytes: &[u8]) -> Result<HashMap<String, String>, WeightsError> {
        let (_, metadata) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        Ok(metadata.metadata().clone().unwrap_or_default())
    }
}

fn read_tensors(st: &SafeTensors<'_>, spec: &ModelSpec) -> Result<TensorMap, WeightsError> {
    let map = f32_tensors(st)?;
    check_tensors(
        spec,
        map.iter()
            .map(|(n, (s, v))| (n.as_str(), s.clone(), v.as_slice())),
    )?;
    Ok(TensorMap(map))
}

type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Every tensor of a file as f32 values; any other dtype is an error.
fn f32_tensors(st: &SafeTensors<'_>) -> Result<Tensors, WeightsError> {
    let mut map = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(WeightsError::DType {
                tensor: name,
                got: format!("{:?}", view.dtype()),
            });
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        map.insert(name, (view.shape().to_vec(), values));
    }
    Ok(map)
}

/// Checks names, shapes, class count and finiteness of a set of tensors against the network.
fn check_tensors<'a>(
    spec: &ModelSpec,
    tensors: impl Iterator<Item = (&'a str, Vec<usize>, &'a [f32])>,
) -> Result<(), WeightsError> {
    if spec.network.kind != NetworkKind::Instrunet {
        return Err(WeightsError::NotInstruNet(spec.network.kind.to_string()));
    }
    let shapes = tensor_shapes(spec);
    let expected: HashMap<&str, &Vec<usize>> =
        shapes.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let mut seen = std::collections::HashSet::new();
    for (name, shape, values) in tensors {
        let Some(&want) = expected.get(name) else {
            return Err(WeightsError::UnexpectedTensor(name.to_owned()));
        };
        if name.starts_with("fc2.") && shape.first() != Some(&spec.n_classes()) {
            return Err(WeightsError::ClassCount {
                what: format!("tensor {name:?}"),
                expected: spec.n_classes(),
                got: shape.first().copied().unwrap_or(0),
            });
        }
        if &shape != want || values.len() != want.iter().product::<usize>() {
            return Err(WeightsError::Shape {
                tensor: name.to_owned(),
                expected: want.clone(),
                got: shape,
            });
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(WeightsError::NonFinite {
                tensor: name.to_owned(),
                index,
                value,
            });
        }
        seen.insert(name);
    }
    // Name the first missing tensor in the network's order.
    if let Some((missing, _)) = shapes.iter().find(|(n, _)| !seen.contains(n.as_str())) {
        return Err(WeightsError::MissingTensor(missing.clone()));
    }
    Ok(())
}
