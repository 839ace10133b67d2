//! Listing the sound cards: what each device is called, whether it is the default, and what it
//! can do — so a user can pick one by name before anything is opened for streaming.

use cpal::traits::{DeviceTrait, HostTrait};

use super::DeviceError;
use super::select::{Direction, usable_format};
use crate::engine::HOST_RATES;

/// One device as the platform's default audio host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable identifier to pass to [`DeviceChoice::Named`](super::DeviceChoice::Named) (on ALSA
    /// the PCM name, e.g. `default`, `null`, `hw:CARD=0,DEV=0`).
    pub id: String,
    /// Human-readable name (also accepted by `DeviceChoice::Named`).
    pub name: String,
    /// This is the host's default input device.
    pub default_input: bool,
    /// This is the host's default output device.
    pub default_output: bool,
    /// What the device can capture; `None` if it has no input or could not be queried.
    pub input: Option<Capabilities>,
    /// What the device can play; `None` if it has no output or could not be queried.
    pub output: Option<Capabilities>,
}

/// What one direction of a device supports, in sample formats the device layer can convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Channel counts offered, ascending.
    pub channels: Vec<u16>,
    /// Lowest and highest sample rate offered, Hz.
    pub rate_range: (u32, u32),
    /// The engine's host rates (44.1, 48, 96 kHz) the device offers.
    pub engine_rates: Vec<u32>,
    /// Smallest and largest buffer (frames per callback), if the host tells before opening.
    pub buffer_frames: Option<(u32, u32)>,
}

/// Lists the default host's devices. Querying capabilities opens each device briefly; devices
/// that are busy or refuse are listed with `None` capabilities rather than failing the list.
pub fn list_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    let host = cpal::default_host();
    let default_id = |device: Option<cpal::Device>| device.and_then(|d| d.id().ok());
    let default_input = default_id(host.default_input_device());
    let default_output = default_id(host.default_output_device());
    let devices = host
        .devices()
        .map_err(|source| DeviceError::Host { source })?;
    Ok(devices
        .filter_map(|device| {
            let id = device.id().ok()?;
            Some(DeviceInfo {
                name: device
                    .description()
                    .map_or_else(|_| id.id().to_owned(), |d| d.name().to_owned()),
                default_input: default_input.as_ref() == Some(&id),
                default_output: default_output.as_ref() == Some(&id),
                input: capabilities(&device, Direction::Input),
                output: capabilities(&device, Direction::Output),
                id: id.id().to_owned(),
            })
        })
        .collect())
}

fn capabilities(device: &cpal::Device, direction: Direction) -> Option<Capabilities> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = direction
        .supported_configs(device)
        .ok()?
        .into_iter()
        .filter(|r| usable_format(r.sample_format()))
        .collect();
    if ranges.is_empty() {
        return None;
    }
    let mut channels: Vec<u16> = ranges.iter().map(|r| r.channels()).collect();
    channels.sort_unstable();
    channels.dedup();
    let min_rate = ranges.iter().map(|r| r.min_sample_rate()).min()?;
    let max_rate = ranges.iter().map(|r| r.max_sample_rate()).max()?;
    let engine_rates = HOST_RATES
        .into_iter()
        .filter(|&rate| ranges.iter().any(|r| r.contains_rate(rate)))
        .collect();
    let buffer_frames = ranges
        .iter()
        .fold(None, |acc, r| match (*r.buffer_size(), acc) {
            (cpal::SupportedBufferSize::Range { min, max }, None) => Some((min, max)),
            (cpal::SupportedBufferSize::Range { min, max }, Some((lo, hi))) => {
                Some((min.min(lo), max.max(hi)))
            }
            (cpal::SupportedBufferSize::Unknown, acc) => acc,
        });
    Some(Capabilities {
        channels,
        rate_range: (min_rate, max_rate),
        engine_rates,
        buffer_frames,
    })
}
