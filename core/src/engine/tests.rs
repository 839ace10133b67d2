use std::time::Instant;

use super::*;

#[test]
fn refuses_unsupported_configurations() {
    for config in [
        EngineConfig {
            host_rate: 22_050,
            ..EngineConfig::default()
        },
        EngineConfig {
            max_block_frames: MAX_BLOCK_FRAMES + 1,
            ..EngineConfig::default()
        },
        EngineConfig {
            max_peers: 0,
            ..EngineConfig::default()
        },
    ] {
        assert!(matches!(
            Engine::new(config),
            Err(EngineError::InvalidConfig(_))
        ));
    }
}

#[test]
fn peers_come_and_go_without_leaking_slots() {
    let config = EngineConfig {
        max_peers: 2,
        ..EngineConfig::default()
    };
    let (mut engine, mut network, control) = Engine::new(config).expect("engine");
    let mut out = [[0.0f32; 64]; 2];
    let mut process = |engine: &mut Engine| {
        let [l, r] = &mut out;
        engine
            .process(&[], &mut [&mut l[..], &mut r[..]], 64)
            .expect("process");
    };
    let a = network.add_peer(PeerConfig::default()).expect("a");
    let b = network.add_peer(PeerConfig::default()).expect("b");
    assert!(matches!(
        network.add_peer(PeerConfig::default()),
        Err(EngineError::NoFreeSlot)
    ));
    process(&mut engine);
    assert!(control.peer_stats(a).is_some());
    let mut current = a;
    for round in 0..20 {
        network.remove_peer(current).expect("remove");
        assert!(matches!(
            network.remove_peer(current),
            Err(EngineError::UnknownPeer)
        ));
        assert_eq!(
            network.receive(current, Instant::now(), 0, 0, &[1, 2, 3]),
            Err(ReceiveError::UnknownPeer)
        );
        assert!(
            control.set_gain_db(current, -3.0).is_err(),
            "stale id refused"
        );
        let next = network.add_peer(PeerConfig::default()).expect("re-add");
        // Every other round the audio thread sees the removal and the addition in one block.
        if round % 2 == 0 {
            process(&mut engine);
        }
        process(&mut engine);
        assert!(control.peer_stats(current).is_none());
        assert!(control.peer_stats(next).is_some());
        current = next;
    }
    assert_eq!(
        network.receive(b, Instant::now(), 0, 0, &[0; MAX_RTP_PAYLOAD + 1]),
        Err(ReceiveError::Oversized {
            len: MAX_RTP_PAYLOAD + 1
        })
    );
    process(&mut engine);
    assert_eq!(control.peer_stats(b).expect("b").oversized, 1);
}

#[test]
fn refuses_bad_blocks_with_silence() {
    let (mut engine, _network, _control) = Engine::new(EngineConfig::default()).expect("engine");
    let mut l = [1.0f32; 2048];
    let mut r = [1.0f32; 32];
    assert_eq!(
        engine.process(&[], &mut [&mut l[..], &mut r[..]], 2048),
        Err(ProcessError::BlockTooLarge {
            frames: 2048,
            max: 1024
        })
    );
    assert_eq!(
        engine.process(&[], &mut [&mut l[..], &mut r[..]], 64),
        Err(ProcessError::ChannelTooShort {
            channel: 1,
            len: 32,
            frames: 64
        })
    );
    assert!(l[..64].iter().all(|&x| x == 0.0));
}

#[test]
fn stats_snapshots_are_never_torn() {
    let cell = std::sync::Arc::new(stats::SeqCell::<8>::new());
    let writer = {
        let cell = std::sync::Arc::clone(&cell);
        std::thread::spawn(move || {
            for i in 0..200_000u64 {
                cell.write(&[i; 8]);
            }
        })
    };
    for _ in 0..20_000 {
        if let Some(words) = cell.read() {
            assert!(words.iter().all(|&w| w == words[0]), "{words:?}");
        }
    }
    writer.join().expect("writer");
}

#[test]
fn the_capture_clock_names_the_block_that_completes_each_frame() {
    // 2.5 ms frames (120 samples) in 64-frame blocks, and in 256-frame blocks (two frames each).
    for block in [64usize, 256] {
        let (mut engine, mut network, _control) =
            Engine::new(EngineConfig::default()).expect("engine");
        let clock = network.capture_clock();
        assert_eq!(
            clock.next_frame_due(),
            None,
            "nothing predicted before a block"
        );
        let period = frames_to_duration(block, 48_000);
        let start = Instant::now();
        let (input, mut out) = (
            vec![0.1f32; block],
            [vec![0.0f32; block], vec![0.0f32; block]],
        );
        let mut completed = 0;
        for k in 0..200u32 {
            let now = start + period * k;
            let predicted = clock.next_frame_due();
            let [l, r] = &mut out;
            engine
                .process_at(now, &[&input, &input], &mut [&mut l[..], &mut r[..]], block)
                .expect("process");
            let mut frames = 0;
            while network.poll_packet().is_some() {
                frames += 1;
            }
            if k > 0 {
                assert_eq!(
                    frames > 0,
                    predicted == Some(now),
                    "block {k} of {block}: predicted {predicted:?}, frames {frames}"
                );
            }
            completed += frames;
            assert_eq!(
                clock.frames_captured(),
                completed as u64,
                "the count names the frames"
            );
        }
        assert_eq!(completed, 200 * block / 120, "every frame was sent");
    }
}

#[test]
fn a_host_passing_its_output_time_gets_predictions_on_the_call_clock() {
    let (mut engine, network, _control) = Engine::new(EngineConfig::default()).expect("engine");
    let clock = network.capture_clock();
    // Far longer than any real output latency, so the bound below holds on a loaded machine.
    let output_latency = Duration::from_millis(500);
    let (input, mut out) = ([0.1f32; 64], [[0.0f32; 64]; 2]);
    let [l, r] = &mut out;
    engine
        .process_at(
            Instant::now() + output_latency,
            &[&input, &input],
            &mut [&mut l[..], &mut r[..]],
            64,
        )
        .expect("process");
    let (host, call) = (
        clock.next_frame_due().expect("predicted"),
        clock.next_call_due().expect("predicted"),
    );
    // The lead is measured between two clock reads a few instructions apart.
    let shift = host - call;
    assert!(
        shift <= output_latency && shift > output_latency / 2,
        "{shift:?}"
    );
    // `process` calls with its own call time: no lead.
    engine
        .process(&[&input, &input], &mut [&mut l[..], &mut r[..]], 64)
        .expect("process");
    assert_eq!(clock.next_frame_due(), clock.next_call_due());
}
