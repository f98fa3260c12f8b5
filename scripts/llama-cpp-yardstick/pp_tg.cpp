// Times llama.cpp the way `owl2j bench --skip-vision` times Owl2J: a prefill of P positions (BOS then random
// tokens, one llama_decode call), then N single-token decode steps continuing that sequence, each step waited
// for. The calls are the ones llama-bench's pp and tg tests make (llama_batch_get_one, llama_synchronize, the KV
// cache cleared between repetitions, one untimed warm-up repetition first); a driver of our own rather than
// llama-bench itself because it decodes at the same depth as Owl2J (after the prompt) and needs only llama.h.
// Prints one line per repetition: "pp <positions> <tok/s> <cpu s> tg <steps> <tok/s> <cpu s>", cpu s being the
// process's user + system time in that phase (all threads): on a machine shared with other jobs, tokens per CPU
// second say how much work each token costs, which the wall-clock rate alone does not.
#include "llama.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sys/resource.h>
#include <vector>

static double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

static double cpu_seconds() {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

int main(int argc, char ** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS PREFILL_POSITIONS DECODE_STEPS REPETITIONS\n", argv[0]);
        return 2;
    }
    const int threads = atoi(argv[2]), n_prompt = atoi(argv[3]), n_gen = atoi(argv[4]), reps = atoi(argv[5]);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    // read the weights into memory rather than mapping the file: on a machine whose page cache is shared with
    // other jobs (and with the other GGUF and Owl2J's runs in between), mapped pages were evicted and re-read
    // from disk during the timed steps (Q8_0 decode 0.87 tok/s). Older llama.cpp spells this use_mmap = false.
    mp.load_mode = LLAMA_LOAD_MODE_NONE;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_prompt + n_gen;
    cp.n_batch = 2048;  // llama-bench's defaults: the whole prompt in one call, split in ubatches of 512
    cp.n_ubatch = 512;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot make a context\n"); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::mt19937 rng(1);
    std::vector<llama_token> prompt(n_prompt);
    for (int r = -1; r < reps; r++) {  // r = -1: warm-up, not printed
        llama_memory_clear(llama_get_memory(ctx), false);
        prompt[0] = 1;  // BOS
        for (int i = 1; i < n_prompt; i++) prompt[i] = 3 + rng() % (n_vocab - 3);
        auto t0 = std::chrono::steady_clock::now();
        double c0 = cpu_seconds();
        if (llama_decode(ctx, llama_batch_get_one(prompt.data(), n_prompt)) != 0) { fprintf(stderr, "prefill failed\n"); return 1; }
        llama_synchronize(ctx);
        double pp = seconds_since(t0), pp_cpu = cpu_seconds() - c0;
        llama_token tok = 3 + rng() % (n_vocab - 3);
        t0 = std::chrono::steady_clock::now();
        c0 = cpu_seconds();
        for (int i = 0; i < n_gen; i++) {
            if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
            llama_synchronize(ctx);
            tok = 3 + rng() % (n_vocab - 3);
        }
        double tg = seconds_since(t0), tg_cpu = cpu_seconds() - c0;
        if (r >= 0) printf("pp %d %.2f %.2f tg %d %.2f %.2f\n", n_prompt, n_prompt / pp, pp_cpu, n_gen, n_gen / tg, tg_cpu);
        fflush(stdout);
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
