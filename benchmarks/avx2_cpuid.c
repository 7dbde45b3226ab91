/* An AVX2-only CPU as every library in a process sees it, on a CPU with AVX-512: an LD_PRELOAD library.

   Build and use (Linux x86-64, a CPU and kernel with CPUID faulting: `grep -w cpuid_fault /proc/cpuinfo`):

       gcc -O2 -shared -fPIC -o /tmp/avx2_cpuid.so benchmarks/avx2_cpuid.c
       LD_PRELOAD=/tmp/avx2_cpuid.so python ...

   Libraries choose their kernels from the CPUID instruction: oneDNN (TensorFlow's and PyTorch's), TensorFlow's own
   routing of bfloat16 ops, XNNPACK (LiteRT), PyTorch's ATen dispatch. Environment caps reach only some of them
   (ONEDNN_MAX_CPU_ISA for oneDNN, ATEN_CPU_CAPABILITY for ATen); XNNPACK has none. This library turns CPUID into a
   fault for the whole process (arch_prctl ARCH_SET_CPUID; the setting is inherited by threads and children made
   by fork, and LD_PRELOAD reaches children made by exec), answers each CPUID from its SIGSEGV handler with the
   real values minus AVX-512, AMX and AVX-VNNI (those of an AMD Zen 3 or an Intel Haswell-to-Comet Lake core), and
   steps over the instruction. Another SIGSEGV handler that the program installs (Python's faulthandler, for
   example) is kept as the one to call for a real fault.

   Programs that read the flags of /proc/cpuinfo instead (tfvideo's `auto` levers, grep) get the same view: an
   open() of that path (open, open64, openat, fopen) reads a copy without those flags.

   It gives the kernel choice of an AVX2 CPU, not its speed: clocks, caches and the cores' own throughput stay
   those of this CPU. The dynamic loader and glibc read CPUID before this library is loaded; their string
   functions keep their AVX-512 forms.
   AVX2_CPUID_QUIET=1 silences the one line that it prints to stderr when CPUID faulting is unavailable. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static struct sigaction program_handler; /* what the program asked SIGSEGV to do */
static int active;

static long set_cpuid_allowed(int allowed) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, (unsigned long)allowed); }

#define BIT(n) (1u << (n))

/* Clears the features above AVX2 from the answer to CPUID(leaf, subleaf): r = {eax, ebx, ecx, edx}. */
static void mask(unsigned leaf, unsigned subleaf, unsigned r[4]) {
    if (leaf == 7 && subleaf == 0) {
        /* EBX: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL */
        r[1] &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31));
        /* ECX: AVX512_VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
        r[2] &= ~(BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14));
        /* EDX: AVX512_4VNNIW, 4FMAPS, VP2INTERSECT, AMX_BF16, AVX512_FP16, AMX_TILE, AMX_INT8 */
        r[3] &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25));
    } else if (leaf == 7 && subleaf == 1) {
        /* EAX: AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA; EDX: AVX_VNNI_INT8, AVX_NE_CONVERT, AMX_COMPLEX, AVX10 */
        r[0] &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(23));
        r[3] &= ~(BIT(4) | BIT(5) | BIT(8) | BIT(19));
    } else if (leaf == 0xd && subleaf == 0) {
        /* The XSAVE state components that the CPU supports: no opmask, ZMM or AMX tile state. */
        r[0] &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18));
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
        r[0] = r[1] = r[2] = r[3] = 0; /* AMX tile and AVX10 information */
    }
}

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction(void) {
    static sigaction_fn fn;
    if (!fn) fn = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    return fn;
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *regs = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
    if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) { /* CPUID */
        unsigned leaf = (unsigned)regs[REG_RAX], subleaf = (unsigned)regs[REG_RCX], r[4];
        set_cpuid_allowed(1);
        __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
        set_cpuid_allowed(0);
        mask(leaf, subleaf, r);
        regs[REG_RAX] = r[0];
        regs[REG_RBX] = r[1];
        regs[REG_RCX] = r[2];
        regs[REG_RDX] = r[3];
        regs[REG_RIP] += 2;
        return;
    }
    if (program_handler.sa_flags & SA_SIGINFO) {
        program_handler.sa_sigaction(sig, info, context);
    } else if (program_handler.sa_handler != SIG_DFL && program_handler.sa_handler != SIG_IGN) {
        program_handler.sa_handler(sig);
    } else { /* no handler of the program's: die of it as the program would (a fault recurs on return) */
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        real_sigaction()(SIGSEGV, &default_action, NULL);
        if (info->si_code <= 0) raise(SIGSEGV); /* sent by kill or raise: send it again */
    }
}


/* The program's SIGSEGV handler is recorded, not installed: ours stays first and calls it for real faults. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!active || sig != SIGSEGV) return real_sigaction()(sig, act, old);
    if (old) *old = program_handler;
    if (act) program_handler = *act;
    return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_RESTART;
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

/* /proc/cpuinfo without the masked features' flags, in a memory file; its path for open(), or "" when absent. */
static char cpuinfo_copy[64];
static const char *const MASKED_FLAGS[] = {"avx512", "amx", "avx_vnni", "avx_ifma", "avx_ne_convert", "avx10", NULL};

static int masked_flag(const char *flag) {
    for (const char *const *prefix = MASKED_FLAGS; *prefix; ++prefix)
        if (strncmp(flag, *prefix, strlen(*prefix)) == 0) return 1;
    return 0;
}

/* Writes `line` to `out`, without the masked flags when it is a "flags" line. */
static void write_line(FILE *out, char *line) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "flags", 5) != 0 || !colon) {
        fputs(line, out);
        return;
    }
    fwrite(line, 1, (size_t)(colon - line + 1), out);
    for (char *token = strtok(colon + 1, " \n"); token; token = strtok(NULL, " \n"))
        if (!masked_flag(token)) fprintf(out, " %s", token);
    fputc('\n', out);
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);

static void copy_cpuinfo(void) {
    int fd = memfd_create("cpuinfo", 0);
    FILE *in = ((fopen_fn)dlsym(RTLD_NEXT, "fopen"))("/proc/cpuinfo", "r");
    FILE *out = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
    if (in && out) {
        char line[8192];
        while (fgets(line, sizeof line, in)) write_line(out, line);
        snprintf(cpuinfo_copy, sizeof cpuinfo_copy, "/proc/self/fd/%d", fd);
    }
    if (in) fclose(in);
    if (out) fclose(out);
}

/* Whether open's optional mode argument was passed (glibc's own rule). */
#define NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)

static const char *redirect(const char *path) {
    return (cpuinfo_copy[0] && path && strcmp(path, "/proc/cpuinfo") == 0) ? cpuinfo_copy : path;
}

#define OPEN_LIKE(name)                                                           \
    int name(const char *path, int flags, ...) {                                  \
        static open_fn real;                                                      \
        if (!real) real = (open_fn)dlsym(RTLD_NEXT, #name);                       \
        va_list args;                                                             \
        va_start(args, flags);                                                    \
        int mode = NEEDS_MODE(flags) ? va_arg(args, int) : 0;                     \
        va_end(args);                                                             \
        return real(redirect(path), flags, mode);                                 \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                         \
    int name(int dirfd, const char *path, int flags, ...) {                       \
        static openat_fn real;                                                    \
        if (!real) real = (openat_fn)dlsym(RTLD_NEXT, #name);                     \
        va_list args;                                                             \
        va_start(args, flags);                                                    \
        int mode = NEEDS_MODE(flags) ? va_arg(args, int) : 0;                     \
        va_end(args);                                                             \
        return real(dirfd, redirect(path), flags, mode);                          \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

#define FOPEN_LIKE(name)                                                          \
    FILE *name(const char *path, const char *mode) {                              \
        static fopen_fn real;                                                     \
        if (!real) real = (fopen_fn)dlsym(RTLD_NEXT, #name);                      \
        return real(redirect(path), mode);                                        \
    }
FOPEN_LIKE(fopen)
FOPEN_LIKE(fopen64)

__attribute__((constructor)) static void start(void) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&act.sa_mask);
    program_handler.sa_handler = SIG_DFL;
    if (real_sigaction()(SIGSEGV, &act, NULL) != 0 || set_cpuid_allowed(0) != 0) {
        const char *quiet = getenv("AVX2_CPUID_QUIET");
        if (!quiet || strcmp(quiet, "1") != 0)
            fprintf(stderr, "avx2_cpuid: CPUID faulting is not available here (no cpuid_fault in /proc/cpuinfo?); "
                            "this process sees the CPU's own features.\n");
        return;
    }
    active = 1;
    copy_cpuinfo();
}
