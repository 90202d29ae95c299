//! Opus through symphonia's decoder interface, decoded in pure Rust by the `opus-rs` crate (a port
//! of libopus 1.6), so that Ogg and WebM Opus need no C library.

use symphonia::core::audio::{
    AsGenericAudioBufferRef, Audio, AudioBuffer, AudioMut, AudioSpec, Channels,
    GenericAudioBufferRef, layouts,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// Opus's internal rate: the `OpusHead` pre-skip counts samples at 48 kHz.
const OPUS_RATE_HZ: usize = 48_000;
/// The longest packet, in milliseconds (also what an empty, lost packet is concealed with).
const MAX_PACKET_MS: usize = 120;
/// A typical packet, in milliseconds (initial buffer capacity).
const TYPICAL_PACKET_MS: usize = 20;

/// A mono or stereo Opus stream, decoded at the rate its container declares (8, 12, 16, 24 or
/// 48 kHz).
pub struct OpusDecoder {
    params: AudioCodecParameters,
    decoder: opus_rs::OpusDecoder,
    /// Frames per channel of the longest packet at the output rate.
    max_frames: usize,
    /// Interleaved output of the last packet.
    pcm: Vec<f32>,
    /// The last packet's frames; its spec is the stream's output rate and channels.
    buffer: AudioBuffer<f32>,
    /// Frames still to drop from the start of the stream (`OpusHead` pre-skip, at the output rate).
    pre_skip: usize,
}

/// The pre-skip field of an `OpusHead` (RFC 7845 §5.1): 48 kHz samples to drop at the start.
fn pre_skip_48k(head: &[u8]) -> Option<usize> {
    let field = head.strip_prefix(b"OpusHead")?.get(2..4)?;
    Some(usize::from(u16::from_le_bytes([field[0], field[1]])))
}

/// An `opus-rs` decoder for `spec`, or `None` when `opus-rs` does not output that rate.
fn new_decoder(spec: &AudioSpec) -> Option<opus_rs::OpusDecoder> {
    let rate = i32::try_from(spec.rate()).ok()?;
    opus_rs::OpusDecoder::new(rate, spec.channels().count()).ok()
}

impl OpusDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<Self> {
        let channels = match params.channels.as_ref().map(Channels::count) {
            Some(1) => layouts::CHANNEL_LAYOUT_MONO,
            Some(2) => layouts::CHANNEL_LAYOUT_STEREO,
            Some(_) => {
                return unsupported_error("opus: only mono and stereo streams are supported");
            }
            None => return unsupported_error("opus: channel count not declared"),
        };
        let Some(sample_rate) = params.sample_rate else {
            return unsupported_error("opus: sample rate not declared");
        };
        let spec = AudioSpec::new(sample_rate, channels);
        let Some(decoder) = new_decoder(&spec) else {
            return unsupported_error("opus: output rate must be 8, 12, 16, 24 or 48 kHz");
        };
        let pre_skip = params
            .extra_data
            .as_deref()
            .and_then(pre_skip_48k)
            .map_or(0, |skip| skip * sample_rate as usize / OPUS_RATE_HZ);
        let frames_per_ms = sample_rate as usize / 1000;
        let max_frames = MAX_PACKET_MS * frames_per_ms;
        Ok(Self {
            params: params.clone(),
            decoder,
            max_frames,
            pcm: vec![0.0; max_frames * spec.channels().count()],
            buffer: AudioBuffer::new(spec, TYPICAL_PACKET_MS * frames_per_ms),
            pre_skip,
        })
    }
}

impl AudioDecoder for OpusDecoder {
    fn reset(&mut self) {
        // `opus-rs` has no reset: a fresh decoder of the same (already accepted) configuration.
        if let Some(fresh) = new_decoder(self.buffer.spec()) {
            self.decoder = fresh;
        }
    }

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        let frames = self
            .decoder
            .decode(packet.data, self.max_frames, &mut self.pcm)
            .or_else(decode_error)?;
        if frames > self.buffer.capacity() {
            self.buffer = AudioBuffer::new(self.buffer.spec().clone(), frames);
        }
        let samples = frames * self.buffer.spec().channels().count();
        self.buffer.clear();
        self.buffer.render_uninit(Some(frames));
        self.buffer
            .copy_from_slice_interleaved(&&self.pcm[..samples]);
        let skip = self.pre_skip.min(frames);
        self.pre_skip -= skip;
        let start = usize::try_from(packet.trim_start.get()).unwrap_or(usize::MAX);
        let end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
        self.buffer.trim(start.saturating_add(skip), end);
        Ok(self.buffer.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buffer.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for OpusDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(Self::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        &[SupportedAudioCodec {
            id: CODEC_ID_OPUS,
            info: CodecInfo {
                short_name: "opus",
                long_name: "Opus",
                profiles: &[],
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use symphonia::core::errors::Error;

    use super::*;

    #[test]
    fn pre_skip_is_read_from_the_opus_head() {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        assert_eq!(pre_skip_48k(&head), Some(312));
        assert_eq!(pre_skip_48k(b"OpusTags\x01\x02\x38\x01"), None);
        assert_eq!(pre_skip_48k(b"OpusHead\x01"), None);
    }

    #[test]
    fn unsupported_streams_are_refused() {
        let mut params = AudioCodecParameters::new();
        params.for_codec(CODEC_ID_OPUS).with_sample_rate(44_100);
        params.with_channels(layouts::CHANNEL_LAYOUT_STEREO);
        assert!(matches!(
            OpusDecoder::try_new(&params),
            Err(Error::Unsupported(_))
        ));
        params.with_sample_rate(48_000);
        assert!(OpusDecoder::try_new(&params).is_ok());
        params.channels = None;
        assert!(matches!(
            OpusDecoder::try_new(&params),
            Err(Error::Unsupported(_))
        ));
    }
}
