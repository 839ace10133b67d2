//! Choosing devices and stream configurations: one sample rate both devices offer (48 kHz
//! first — the engine's own rate needs no resampling — then 44.1 and 96 kHz), stereo where
//! offered, the most precise sample format we convert, and the requested buffer clamped into
//! the device's range.

use cpal::traits::{DeviceTrait, HostTrait};

use super::{DeviceChoice, DeviceError};

/// Rates tried in order; all are engine host rates.
const RATE_PREFERENCE: [u32; 3] = [48_000, 44_100, 96_000];

/// Which side of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Capture.
    Input,
    /// Playback.
    Output,
}

impl Direction {
    pub(super) fn supported_configs(
        self,
        device: &cpal::Device,
    ) -> Result<Vec<cpal::SupportedStreamConfigRange>, cpal::Error> {
        Ok(match self {
            Direction::Input => device.supported_input_configs()?.collect(),
            Direction::Output => device.supported_output_configs()?.collect(),
        })
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// Sample formats the callbacks convert, best first.
const FORMAT_PREFERENCE: [cpal::SampleFormat; 10] = [
    cpal::SampleFormat::F32,
    cpal::SampleFormat::I32,
    cpal::SampleFormat::I24,
    cpal::SampleFormat::F64,
    cpal::SampleFormat::I16,
    cpal::SampleFormat::U32,
    cpal::SampleFormat::U24,
    cpal::SampleFormat::U16,
    cpal::SampleFormat::I8,
    cpal::SampleFormat::U8,
];

/// Whether the callbacks can convert this format.
pub(super) fn usable_format(format: cpal::SampleFormat) -> bool {
    FORMAT_PREFERENCE.contains(&format)
}

/// Finds the device a choice names: by id, by the host-qualified id (`alsa:null`), or by name.
pub(super) fn find_device(
    host: &cpal::Host,
    choice: &DeviceChoice,
    direction: Direction,
) -> Result<cpal::Device, DeviceError> {
    let name = match choice {
        DeviceChoice::Default => {
            let device = match direction {
                Direction::Input => host.default_input_device(),
                Direction::Output => host.default_output_device(),
            };
            return device.ok_or(DeviceError::NoDefaultDevice { direction });
        }
        DeviceChoice::Named(name) => name,
    };
    let mut devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|source| DeviceError::Host { source })?
        .collect();
    let by_id = devices.iter().position(|d| {
        d.id()
            .is_ok_and(|id| id.id() == name || id.to_string() == *name)
    });
    let by_name = || {
        devices.iter().position(|d| {
            d.description()
                .is_ok_and(|desc| desc.name() == name.as_str())
        })
    };
    match by_id.or_else(by_name) {
        Some(i) => Ok(devices.swap_remove(i)),
        None => Err(DeviceError::NoSuchDevice {
            name: name.clone(),
            direction,
        }),
    }
}

/// The best configuration of `ranges` at `rate`: stereo, else mono, else the fewest channels
/// above two; then the most precise format.
pub(super) fn pick(
    ranges: &[cpal::SupportedStreamConfigRange],
    rate: u32,
) -> Option<cpal::SupportedStreamConfig> {
    let channel_rank = |c: u16| match c {
        2 => 0,
        1 => 1,
        n => u32::from(n),
    };
    let format_rank = |f: cpal::SampleFormat| FORMAT_PREFERENCE.iter().position(|&p| p == f);
    ranges
        .iter()
        .filter(|r| r.contains_rate(rate) && r.channels() > 0)
        .filter_map(|r| {
            Some((
                channel_rank(r.channels()),
                format_rank(r.sample_format())?,
                r,
            ))
        })
        .min_by_key(|(c, f, _)| (*c, *f))
        .and_then(|(_, _, r)| r.try_with_sample_rate(rate))
}

/// The first preferred rate that the output (and the input, if any) offer.
pub(super) fn choose_rate(
    output: &[cpal::SupportedStreamConfigRange],
    input: Option<&[cpal::SupportedStreamConfigRange]>,
) -> Option<u32> {
    RATE_PREFERENCE
        .into_iter()
        .find(|&rate| pick(output, rate).is_some() && input.is_none_or(|i| pick(i, rate).is_some()))
}

/// The fixed buffer to request: `frames` clamped into what the device says it supports.
pub(super) fn buffer_request(config: &cpal::SupportedStreamConfig, frames: u32) -> u32 {
    match *config.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } if min <= max => frames.clamp(min, max),
        _ => frames,
    }
}
