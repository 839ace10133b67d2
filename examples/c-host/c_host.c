/*
 * A DAW stand-in for the Tutti C API: a timer thread calls tutti_engine_process every 64
 * frames at 48 kHz (clock_nanosleep to absolute deadlines, like a sound card's period), sends a
 * sine tone and listens for the other side's tone with a Goertzel filter.
 *
 * Run with (from the repository root; ffi/tests/c_host.rs builds and runs it for you):
 *   cargo build -p tutti-ffi
 *   gcc -std=c11 -Wall -Wextra -Werror -O2 examples/c-host/c_host.c -Iffi/include \
 *       "$CARGO_TARGET_DIR/debug/libtutti_ffi.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
 *       -o c-host
 *   ./c-host SERVER_URL ROOM ACCESS_TOKEN SEND_HZ EXPECT_HZ MAX_SECONDS [--no-tone-check]
 *
 * Exit status 0 when the tone at EXPECT_HZ was heard for a second or more (or, with
 * --no-tone-check, when the session joined and left cleanly: the valgrind run, too slow for
 * real-time audio). The misuse checks (NULL handles, wrong channel counts, oversized blocks,
 * double free) run first in every mode; any surprise exits 2. Output lines start with a
 * keyword (joined, peer-media, heard, stats, done) for the test to follow.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tutti.h"

#define RATE 48000
#define BLOCK 64
#define CHANNELS 2
/* Goertzel window: 960 samples = 20 ms, 50 Hz bins (a 64-frame block alone is 750 Hz wide). */
#define WINDOW 960
/* A window counts as "heard" when the tone's amplitude exceeds this (we send 0.5). */
#define HEARD_AMPLITUDE 0.05
/* Windows heard before we call the link working: 50 x 20 ms = 1 s. */
#define HEARD_WINDOWS 50

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "c-host: check failed at line %d: %s\n", __LINE__, \
                    #cond);                                                    \
            exit(2);                                                           \
        }                                                                      \
    } while (0)

struct audio {
    TuttiEngine *engine;
    double send_hz, expect_hz;
    atomic_bool stop;
    atomic_long heard_windows;
    atomic_long late_blocks;
    atomic_long errors;
};

/* The tone's amplitude at `hz` in `n` samples (Goertzel). */
static double goertzel_amplitude(const float *x, int n, double hz) {
    double w = 2.0 * M_PI * hz / RATE, c = 2.0 * cos(w), s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double power = s1 * s1 + s2 * s2 - c * s1 * s2;
    return 2.0 * sqrt(power > 0.0 ? power : 0.0) / n;
}

static void add_ns(struct timespec *t, long ns) {
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec += 1;
    }
}

/* The "sound card": one block every 64/48000 s, at absolute deadlines so no drift builds up. */
static void *audio_thread(void *arg) {
    struct audio *a = arg;
    float in_l[BLOCK], in_r[BLOCK], out_l[BLOCK], out_r[BLOCK];
    const float *in[CHANNELS] = {in_l, in_r};
    float *out[CHANNELS] = {out_l, out_r};
    static float window[WINDOW];
    int filled = 0;
    double phase = 0.0, step = 2.0 * M_PI * a->send_hz / RATE;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&a->stop)) {
        for (int i = 0; i < BLOCK; i++) {
            in_l[i] = in_r[i] = (float)(0.5 * sin(phase));
            phase += step;
        }
        if (phase > 2.0 * M_PI * 1000.0)
            phase = fmod(phase, 2.0 * M_PI);
        if (tutti_engine_process(a->engine, in, out, CHANNELS, BLOCK) != TUTTI_RESULT_OK)
            atomic_fetch_add(&a->errors, 1);
        for (int i = 0; i < BLOCK; i++) {
            window[filled++] = out_l[i];
            if (filled == WINDOW) {
                if (goertzel_amplitude(window, WINDOW, a->expect_hz) > HEARD_AMPLITUDE)
                    atomic_fetch_add(&a->heard_windows, 1);
                filled = 0;
            }
        }
        add_ns(&next, 1000000000L / RATE * BLOCK + (1000000000L % RATE) * BLOCK / RATE);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) {
            atomic_fetch_add(&a->late_blocks, 1);
            next = now; /* Late (valgrind, a loaded machine): resynchronise instead of bursting. */
        } else {
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
    }
    return NULL;
}

/* Every misuse must be an error code, never a crash. */
static void misuse_checks(void) {
    float buf[2 * BLOCK] = {0};
    const float *in[CHANNELS] = {buf, buf + BLOCK};
    float *out[CHANNELS] = {buf, buf + BLOCK};
    TuttiEvent event;
    TuttiStatistics stats;

    CHECK(tutti_engine_process(NULL, in, out, CHANNELS, BLOCK) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_new(NULL, NULL, NULL) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_join(NULL, NULL) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_leave(NULL) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_next_event(NULL, &event) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_statistics(NULL, &stats) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_set_peer_gain_db(NULL, "x", 0.0f) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_set_monitor_level(NULL, 0.0f) == TUTTI_RESULT_NULL_POINTER);
    tutti_engine_free(NULL);
    tutti_session_free(NULL);

    TuttiEngineConfig config = tutti_engine_config_default();
    config.channels = 3;
    TuttiSession *session = NULL;
    TuttiEngine *engine = NULL;
    CHECK(tutti_session_new(&config, &session, &engine) == TUTTI_RESULT_INVALID_ARGUMENT);
    CHECK(session == NULL && engine == NULL);
    config = tutti_engine_config_default();
    config.host_rate = 12345;
    CHECK(tutti_session_new(&config, &session, &engine) == TUTTI_RESULT_INVALID_ARGUMENT);

    config = tutti_engine_config_default();
    config.max_block_frames = BLOCK;
    CHECK(tutti_session_new(&config, &session, &engine) == TUTTI_RESULT_OK);
    CHECK(session != NULL && engine != NULL);
    CHECK(tutti_engine_process(engine, in, out, 1, BLOCK) == TUTTI_RESULT_WRONG_CHANNEL_COUNT);
    CHECK(tutti_engine_process(engine, in, out, 5, BLOCK) == TUTTI_RESULT_WRONG_CHANNEL_COUNT);
    CHECK(tutti_engine_process(engine, in, out, CHANNELS, BLOCK + 1) == TUTTI_RESULT_BLOCK_TOO_LARGE);
    CHECK(tutti_engine_process(engine, NULL, out, CHANNELS, BLOCK) == TUTTI_RESULT_NULL_POINTER);
    const float *in_with_null[CHANNELS] = {buf, NULL};
    CHECK(tutti_engine_process(engine, in_with_null, out, CHANNELS, BLOCK) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_engine_process(engine, in, out, CHANNELS, BLOCK) == TUTTI_RESULT_OK);
    CHECK(tutti_engine_process(engine, in, out, CHANNELS, 17) == TUTTI_RESULT_OK);
    CHECK(tutti_session_set_peer_gain_db(session, "nobody", -3.0f) == TUTTI_RESULT_NOT_JOINED);
    CHECK(tutti_session_set_peer_pan(session, NULL, 0.0f) == TUTTI_RESULT_NULL_POINTER);
    CHECK(tutti_session_set_monitor_level(session, -1.0f) == TUTTI_RESULT_INVALID_ARGUMENT);
    CHECK(tutti_session_leave(session) == TUTTI_RESULT_NOT_JOINED);
    char message[256];
    CHECK(tutti_session_last_error(session, message, sizeof message) == TUTTI_RESULT_OK);
    CHECK(strlen(message) > 0);
    TuttiJoinConfig join = {0};
    CHECK(tutti_session_join(session, &join) == TUTTI_RESULT_NULL_POINTER);
    join.server_url = "not a url";
    join.room = "room";
    join.display_name = "ann";
    CHECK(tutti_session_join(session, &join) == TUTTI_RESULT_INVALID_ARGUMENT);
    join.server_url = "http://127.0.0.1:1";
    join.access_token = "token"; /* both a token and a name */
    CHECK(tutti_session_join(session, &join) == TUTTI_RESULT_INVALID_ARGUMENT);
    CHECK(tutti_session_next_event(session, &event) == TUTTI_RESULT_OK);
    CHECK(event.kind == TUTTI_EVENT_KIND_NONE && event.text != NULL);
    CHECK(tutti_session_statistics(session, &stats) == TUTTI_RESULT_OK);
    CHECK(stats.blocks == 2 && stats.peer_count == 0);
    TuttiPeerStatistics peer;
    CHECK(tutti_session_peer_statistics(session, 0, &peer) == TUTTI_RESULT_INVALID_ARGUMENT);

    /* Double free is guarded by design: _free nulls the caller's variable. */
    tutti_session_free(&session);
    CHECK(session == NULL);
    tutti_session_free(&session);
    tutti_engine_free(&engine);
    CHECK(engine == NULL);
    tutti_engine_free(&engine);

    CHECK(strcmp(tutti_result_message(TUTTI_RESULT_OK), "ok") == 0);
    CHECK(strlen(tutti_result_message(9999)) > 0);
    CHECK(strlen(tutti_version()) > 0);
    printf("misuse ok version=%s\n", tutti_version());
    fflush(stdout);
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s SERVER_URL ROOM ACCESS_TOKEN SEND_HZ EXPECT_HZ MAX_SECONDS "
                        "[--no-tone-check]\n", argv[0]);
        return 2;
    }
    int tone_check = !(argc > 7 && strcmp(argv[7], "--no-tone-check") == 0);
    misuse_checks();

    TuttiEngineConfig config = tutti_engine_config_default();
    config.max_block_frames = BLOCK;
    TuttiSession *session = NULL;
    struct audio a = {0};
    a.send_hz = atof(argv[4]);
    a.expect_hz = atof(argv[5]);
    double max_seconds = atof(argv[6]);
    CHECK(tutti_session_new(&config, &session, &a.engine) == TUTTI_RESULT_OK);
    pthread_t audio;
    CHECK(pthread_create(&audio, NULL, audio_thread, &a) == 0);

    TuttiJoinConfig join = {0};
    join.server_url = argv[1];
    join.room = argv[2];
    join.access_token = argv[3];
    join.udp_bind = "127.0.0.1:0";
    TuttiResult joined = tutti_session_join(session, &join);
    if (joined != TUTTI_RESULT_OK) {
        char message[512];
        tutti_session_last_error(session, message, sizeof message);
        fprintf(stderr, "c-host: join failed: %s (%s)\n", tutti_result_message(joined), message);
        atomic_store(&a.stop, true);
        pthread_join(audio, NULL);
        tutti_session_free(&session);
        tutti_engine_free(&a.engine);
        return 1;
    }
    CHECK(tutti_session_join(session, &join) == TUTTI_RESULT_ALREADY_JOINED);

    /* The host's UI thread: poll events, adjust the mix, stop once the tone came through. */
    struct timespec start, heard_at = {0};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int heard = 0;
    while (seconds_since(&start) < max_seconds) {
        TuttiEvent event;
        while (tutti_session_next_event(session, &event) == TUTTI_RESULT_OK &&
               event.kind != TUTTI_EVENT_KIND_NONE) {
            switch (event.kind) {
            case TUTTI_EVENT_KIND_JOINED:
                printf("joined id=%s\n", event.peer_id);
                break;
            case TUTTI_EVENT_KIND_PEER_MEDIA:
                printf("peer-media id=%s frame_us=%u\n", event.peer_id, event.frame_us);
                CHECK(tutti_session_set_peer_gain_db(session, event.peer_id, 0.0f) == TUTTI_RESULT_OK);
                CHECK(tutti_session_set_peer_pan(session, event.peer_id, 0.0f) == TUTTI_RESULT_OK);
                CHECK(tutti_session_set_peer_mute(session, event.peer_id, false) == TUTTI_RESULT_OK);
                break;
            case TUTTI_EVENT_KIND_ERROR:
                printf("error %s\n", event.text);
                break;
            default:
                break;
            }
        }
        fflush(stdout);
        if (!heard && atomic_load(&a.heard_windows) >= HEARD_WINDOWS) {
            heard = 1;
            clock_gettime(CLOCK_MONOTONIC, &heard_at);
            printf("heard hz=%.0f after_s=%.2f\n", a.expect_hz, seconds_since(&start));
        }
        /* Keep playing a while after hearing, so the other side hears us too. */
        if (heard && seconds_since(&heard_at) > 3.0)
            break;
        if (!tone_check && seconds_since(&start) > max_seconds / 2)
            break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }

    TuttiStatistics stats;
    CHECK(tutti_session_statistics(session, &stats) == TUTTI_RESULT_OK);
    for (uint32_t i = 0; i < stats.peer_count; i++) {
        TuttiPeerStatistics peer;
        if (tutti_session_peer_statistics(session, i, &peer) == TUTTI_RESULT_OK)
            printf("stats id=%s received=%llu decoded=%llu concealed=%llu rtt_us=%lld latency_us=%lld\n",
                   peer.peer_id, (unsigned long long)peer.packets_received,
                   (unsigned long long)peer.frames_decoded, (unsigned long long)peer.frames_concealed,
                   (long long)peer.rtt_us, (long long)peer.latency_us);
    }
    CHECK(tutti_session_leave(session) == TUTTI_RESULT_OK);
    atomic_store(&a.stop, true);
    pthread_join(audio, NULL);
    tutti_session_free(&session);
    tutti_engine_free(&a.engine);
    printf("done blocks=%llu late_blocks=%ld process_errors=%ld heard_windows=%ld\n",
           (unsigned long long)stats.blocks, atomic_load(&a.late_blocks), atomic_load(&a.errors),
           atomic_load(&a.heard_windows));
    CHECK(atomic_load(&a.errors) == 0);
    return (!tone_check || heard) ? 0 : 1;
}
