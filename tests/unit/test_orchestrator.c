/* The horizontal orchestrator: counter deltas of the telemetry page turned
 * into events and run through a policy (the default one and small ones),
 * the kernel's KVM statistics read from fake binary stats files (exit rate,
 * exit storms, divergent reports), and the responses carried out against
 * a forked child standing in for the VMM: deny, reset, dump, restart,
 * quarantine, pause, throttle and kill; and ho_supervise() end to end.
 * Events are read back from the events file. No root and no KVM needed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "defense/event_log.h"
#include "defense/handoff.h"
#include "defense/orchestrator.h"
#include "defense/policy.h"
#include "defense/telemetry.h"
#include "vmm/surface.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define VM_NAME "ho-test"

struct fx {
	char dir[64];
	char events[128];
	struct policy *policy;
	struct event_log *log;
	struct telemetry *tel;
	struct ho ho;
	pid_t child;
	int memfd;
	int fds[4]; /* the test's own fds, closed at the end */
	unsigned nfds;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kfv-ho-test-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->events, sizeof(fx->events), "%s/events.jsonl", fx->dir);
	if (event_log_open(&fx->log, fx->events, NULL, VM_NAME))
		return -1;
	/* A shared page: agent_register() fills its slots, where the
	 * orchestrator looks (the private telemetry keeps agents elsewhere). */
	fx->tel = telemetry_create_shared();
	if (!fx->tel)
		return -1;
	fx->child = -1;
	fx->memfd = -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	DIR *d;
	struct dirent *de;
	char path[512];

	if (fx->child > 0) {
		kill(fx->child, SIGKILL);
		waitpid(fx->child, NULL, 0);
	}
	ho_vmm_gone(&fx->ho); /* closes the stats fds it was given */
	while (fx->nfds)
		close(fx->fds[--fx->nfds]);
	if (fx->memfd >= 0)
		close(fx->memfd);
	event_log_close(fx->log);
	policy_free(fx->policy);
	telemetry_destroy(fx->tel);
	d = opendir(fx->dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Loads the policy (NULL: the default one) and starts an orchestrator on it. */
static struct ho *start(struct fx *fx, const char *policy_text)
{
	char err[256] = "";
	struct ho_config cfg = {
		.vm = VM_NAME, .log = fx->log, .tel = fx->tel, .guest_memfd = fx->memfd, .forensics_dir = fx->dir,
	};
	int ret = policy_text ? policy_load_string(policy_text, "test", &fx->policy, err, sizeof(err))
			      : policy_load_default(&fx->policy, err, sizeof(err));

	if (ret)
		print_error("policy refused: %s\n", err);
	assert_int_equal(ret, 0);
	cfg.policy = fx->policy;
	if (fx->memfd >= 0) {
		struct stat st;

		assert_int_equal(fstat(fx->memfd, &st), 0);
		cfg.guest_size = (uint64_t)st.st_size;
	}
	ho_init(&fx->ho, &cfg);
	return &fx->ho;
}

/* --- the events file -------------------------------------------------- */

/* Events of kind (NULL: any) on resource (NULL: any) with action (NULL:
 * any; "": none taken). Returns how many; the last one's detail and count
 * go to detail and count when not NULL. */
static unsigned find_events(const struct fx *fx, const char *kind, const char *resource, const char *action,
			    char *detail, size_t len, uint64_t *count)
{
	FILE *f = fopen(fx->events, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	if (!f)
		return 0; /* nothing written yet */
	while (getline(&line, &cap, f) > 0) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		json_t *act;

		if (!o)
			print_error("bad event line: %s (%s)\n", line, jerr.text);
		assert_non_null(o);
		act = json_object_get(o, "action");
		if ((!kind || !strcmp(json_string_value(json_object_get(o, "kind")), kind)) &&
		    (!resource || !strcmp(json_string_value(json_object_get(o, "resource")), resource)) &&
		    (!action || (action[0] ? json_is_string(act) && !strcmp(json_string_value(act), action)
					   : json_is_null(act)))) {
			n++;
			if (detail)
				snprintf(detail, len, "%s", json_string_value(json_object_get(o, "detail")));
			if (count)
				*count = (uint64_t)json_integer_value(json_object_get(o, "count"));
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	return n;
}

static unsigned nr_events(const struct fx *fx, const char *kind)
{
	return find_events(fx, kind, NULL, NULL, NULL, 0, NULL);
}

static void bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add(c, n);
}

/* --- telemetry deltas -------------------------------------------------- */

static void telemetry_deltas_become_events(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, NULL);
	struct agent *serial = agent_register(AGENT_KIND_PIO, "serial", AGENT_ESSENTIAL);
	struct agent *i8042 = agent_register(AGENT_KIND_PIO, "i8042", 0);
	struct agent *pio = agent_register(AGENT_KIND_UNCLAIMED, "pio", 0);
	struct agent *mmio = agent_register(AGENT_KIND_UNCLAIMED, "mmio", 0);
	struct agent *msr = agent_register(AGENT_KIND_MSR, "msr", 0);
	struct agent *vq = agent_register(AGENT_KIND_VIRTQ, "virtio-blk0-q", 0);
	uint64_t t = ho_now_ns(), count = 0;

	ho_tick(ho, t);
	assert_int_equal(nr_events(fx, NULL), 0); /* nothing happened, nothing said */

	bump(&pio->accesses, 300);
	bump(&mmio->accesses, 7);
	bump(&msr->accesses, 5);
	bump(&msr->rejects, 5);
	bump(&vq->throttled, 2);
	bump(&i8042->rejects, 4); /* refused by the device, not by a deny */
	bump(&serial->accesses, 1000);
	t += MS(1000);
	ho_tick(ho, t);
	assert_int_equal(find_events(fx, "unclaimed_pio", "pio", "", NULL, 0, &count), 1);
	assert_int_equal(count, 300);
	assert_int_equal(find_events(fx, "unclaimed_mmio", "mmio", "", NULL, 0, &count), 1);
	assert_int_equal(count, 7);
	assert_int_equal(find_events(fx, "msr_denied", "msr", "", NULL, 0, &count), 1);
	assert_int_equal(count, 5);
	assert_int_equal(find_events(fx, "rate_limit", "virtio-blk0-q", "", NULL, 0, &count), 1);
	assert_int_equal(count, 2);
	assert_int_equal(nr_events(fx, "access_denied"), 0);
	assert_int_equal(find_events(fx, NULL, "serial", NULL, NULL, 0, NULL), 0); /* claimed accesses are normal */
	/* 300 is no scan */
	assert_int_equal(find_events(fx, "policy_action", "pio", NULL, NULL, 0, NULL), 0);

	/* At most one report per agent per sensor period (200 ms): the next
	 * tick inside it says nothing, the first one after it the delta. */
	bump(&pio->accesses, 5);
	ho_tick(ho, t + MS(100));
	assert_int_equal(nr_events(fx, "unclaimed_pio"), 1);
	ho_tick(ho, t + MS(200));
	assert_int_equal(nr_events(fx, "unclaimed_pio"), 2);
	assert_int_equal(find_events(fx, "unclaimed_pio", "pio", NULL, NULL, 0, &count), 2);
	assert_int_equal(count, 5);

	/* Rejects of an agent set to deny are refusals of the policy's doing. */
	atomic_store(&i8042->action, AGENT_DENY);
	bump(&i8042->rejects, 9);
	ho_tick(ho, t + MS(400));
	assert_int_equal(find_events(fx, "access_denied", "i8042", "", NULL, 0, &count), 1);
	assert_int_equal(count, 9);
	assert_int_equal(nr_events(fx, "unclaimed_pio"), 2);
}

static void port_scan_is_logged_then_denied(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, NULL);
	struct agent *serial = agent_register(AGENT_KIND_PIO, "serial", AGENT_ESSENTIAL);
	struct agent *dbg = agent_register(AGENT_KIND_PIO, "debug-exit", AGENT_ESSENTIAL);
	struct agent *i8042 = agent_register(AGENT_KIND_PIO, "i8042", 0);
	struct agent *post = agent_register(AGENT_KIND_PIO, "post-code", 0);
	struct agent *pio = agent_register(AGENT_KIND_UNCLAIMED, "pio", 0);
	struct agent *mmio = agent_register(AGENT_KIND_UNCLAIMED, "mmio", 0);
	struct agent *blk = agent_register(AGENT_KIND_MMIO, "virtio-blk0", 0);
	struct policy_decision again = { .rule = "port-scan", .nr_actions = 1, .actions = { ACT_DENY },
					 .kind = EV_UNCLAIMED_PIO, .resource = "pio", .count = 2000 };
	uint64_t t = ho_now_ns(), logged_at, count = 0;
	char detail[EVENT_DETAIL_MAX];
	bool denied = false;

	/* A scan: thousands of unclaimed ports within a second. */
	bump(&pio->accesses, 2000);
	logged_at = ho_now_ns();
	ho_tick(ho, t);
	assert_int_equal(find_events(fx, "unclaimed_pio", "pio", "", NULL, 0, &count), 1);
	assert_int_equal(count, 2000);
	assert_int_equal(find_events(fx, "policy_action", "pio", "log", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "port-scan"));
	assert_int_equal(ho->actions[ACT_LOG], 1);
	assert_int_equal(agent_action(pio), AGENT_ALLOW);

	/* It goes on: through the hold-down nothing more happens, after it
	 * the ladder's next step. */
	for (int i = 0; i < 50 && !denied; i++) {
		usleep(100000);
		bump(&pio->accesses, 2000);
		t += MS(250);
		ho_tick(ho, t);
		denied = find_events(fx, "policy_action", "pio", "deny", detail, sizeof(detail), NULL) == 1;
		if (!denied) {
			assert_int_equal(agent_action(pio), AGENT_ALLOW);
			assert_int_equal(agent_action(i8042), AGENT_ALLOW);
		}
	}
	assert_true(denied);
	assert_true(ho_now_ns() - logged_at >= MS(2000)); /* the default port-scan hold-down */
	assert_int_equal(find_events(fx, "policy_action", NULL, "log", NULL, 0, NULL), 1);
	/* every non-essential port range and the unclaimed path: three agents */
	assert_non_null(strstr(detail, "3 agent(s) of pio set to deny"));
	assert_int_equal(agent_action(i8042), AGENT_DENY);
	assert_int_equal(agent_action(post), AGENT_DENY);
	assert_int_equal(agent_action(pio), AGENT_DENY);
	assert_int_equal(agent_action(serial), AGENT_ALLOW);
	assert_int_equal(agent_action(dbg), AGENT_ALLOW);
	assert_int_equal(agent_action(mmio), AGENT_ALLOW);
	assert_int_equal(agent_action(blk), AGENT_ALLOW);
	assert_int_equal(ho->actions[ACT_DENY], 1);

	/* A second deny of the same resource changes nothing and says nothing. */
	ho_execute(ho, &again);
	assert_int_equal(find_events(fx, "policy_action", NULL, "deny", NULL, 0, NULL), 1);
	assert_int_equal(ho->actions[ACT_DENY], 1);
	assert_int_equal(agent_action(i8042), AGENT_DENY);
	assert_int_equal(agent_action(serial), AGENT_ALLOW);

	/* What the VMM refuses from now on is on record as refused. */
	bump(&pio->rejects, 50);
	ho_tick(ho, t + MS(1000));
	assert_int_equal(find_events(fx, "access_denied", "pio", "", NULL, 0, &count), 1);
	assert_int_equal(count, 50);
}

static void virtqueue_flood_resets_the_device(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, NULL);
	struct agent *blk = agent_register(AGENT_KIND_MMIO, "virtio-blk0", 0);
	struct agent *blk_q = agent_register(AGENT_KIND_VIRTQ, "virtio-blk0-q", 0);
	struct agent *rng_q = agent_register(AGENT_KIND_VIRTQ, "virtio-rng0-q", 0);
	uint64_t t = ho_now_ns(), count = 0;
	char detail[EVENT_DETAIL_MAX];

	/* A few bad chains: a driver bug, on record only. */
	for (int i = 0; i < 3; i++)
		agent_anomaly(blk_q);
	ho_tick(ho, t);
	assert_int_equal(find_events(fx, "malformed_descriptor", "virtio-blk0-q", "", NULL, 0, &count), 1);
	assert_int_equal(count, 3);
	assert_int_equal(agent_action(blk_q), AGENT_ALLOW);
	assert_int_equal(nr_events(fx, "policy_action"), 0);

	/* Eight within a second: the device is reset. */
	for (int i = 0; i < 5; i++)
		agent_anomaly(blk_q);
	ho_tick(ho, t + MS(250));
	assert_int_equal(nr_events(fx, "malformed_descriptor"), 2);
	assert_int_equal(find_events(fx, "policy_action", "virtio-blk0-q", "reset_device", detail, sizeof(detail),
				     NULL), 1);
	assert_non_null(strstr(detail, "1 device(s)"));
	assert_int_equal(agent_action(blk_q), AGENT_RESET);
	assert_int_equal(agent_action(blk), AGENT_ALLOW);
	assert_int_equal(agent_action(rng_q), AGENT_ALLOW);

	/* The VMM's side: one reset, then back to allow. */
	assert_int_equal(agent_take_reset(blk_q), 1);
	assert_int_equal(agent_take_reset(blk_q), 0);
	assert_int_equal(atomic_load(&blk_q->resets), 1);
	assert_int_equal(agent_action(blk_q), AGENT_ALLOW);
	assert_int_equal(agent_take_reset(rng_q), 0);
	assert_int_equal(atomic_load(&rng_q->resets), 0);
	assert_int_equal(ho->actions[ACT_RESET_DEVICE], 1);
	assert_int_equal(ho->actions[ACT_KILL], 0);
}

/* --- the kernel's statistics ------------------------------------------ */

/* A vCPU's KVM binary statistics as KVM_GET_STATS_FD lays them out: the
 * header, the id string, the descriptors (name_size bytes of name each),
 * the data. The data is stored in the reverse order of the descriptors,
 * so only a reader that follows each descriptor's offset gets it right. */
#define FAKE_NAME_SIZE 48
enum { FAKE_HALT_WAKEUP, FAKE_EXITS, FAKE_IO_EXITS, FAKE_MMIO_EXITS, FAKE_NR };
static const char *const fake_names[FAKE_NR] = { "halt_wakeup", "exits", "io_exits", "mmio_exits" };

#define FAKE_DESC_SIZE    (sizeof(struct kvm_stats_desc) + FAKE_NAME_SIZE)
#define FAKE_DESC_OFFSET  (sizeof(struct kvm_stats_header) + FAKE_NAME_SIZE)
#define FAKE_DATA_OFFSET  (FAKE_DESC_OFFSET + FAKE_NR * FAKE_DESC_SIZE)
#define FAKE_SLOT(which)  ((FAKE_NR - 1 - (unsigned)(which)) * sizeof(uint64_t))

static void fake_stats_set(int fd, unsigned which, uint64_t v)
{
	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)(FAKE_DATA_OFFSET + FAKE_SLOT(which))), sizeof(v));
}

/* Creates the file of vCPU `vcpu`, all counters 0. */
static int fake_stats_file(struct fx *fx, unsigned vcpu)
{
	struct kvm_stats_header h = {
		.name_size = FAKE_NAME_SIZE, .num_desc = FAKE_NR, .id_offset = sizeof(h),
		.desc_offset = FAKE_DESC_OFFSET, .data_offset = FAKE_DATA_OFFSET,
	};
	char id[FAKE_NAME_SIZE] = "", path[160];
	uint64_t zero[FAKE_NR] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/vcpu%u.stats", fx->dir, vcpu);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	snprintf(id, sizeof(id), "kvm-%d/vcpu%u", (int)getpid(), vcpu);
	assert_int_equal(pwrite(fd, &h, sizeof(h), 0), sizeof(h));
	assert_int_equal(pwrite(fd, id, sizeof(id), h.id_offset), sizeof(id));
	for (unsigned i = 0; i < FAKE_NR; i++) {
		char raw[FAKE_DESC_SIZE] __attribute__((aligned(8))) = { 0 };
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)raw;

		d->flags = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
		d->size = 1;
		d->offset = (uint32_t)FAKE_SLOT(i);
		snprintf(d->name, FAKE_NAME_SIZE, "%s", fake_names[i]);
		assert_int_equal(pwrite(fd, raw, sizeof(raw), (off_t)(FAKE_DESC_OFFSET + i * FAKE_DESC_SIZE)),
				 sizeof(raw));
	}
	assert_int_equal(pwrite(fd, zero, sizeof(zero), FAKE_DATA_OFFSET), sizeof(zero));
	return fd;
}

/* ... and hands its fd to the orchestrator, as the VMM does. */
static int fake_stats(struct fx *fx, unsigned vcpu)
{
	int fd = fake_stats_file(fx, vcpu);

	fx->ho.stats_fds[fx->ho.nr_stats++] = fd;
	return fd;
}

static void fake_stats_read_back(void **state)
{
	struct fx *fx = *state;
	struct surface_kvm_stats st = { 0 };
	int fd;

	start(fx, "{\"version\": 1, \"rules\": []}");
	fd = fake_stats(fx, 0);
	fake_stats_set(fd, FAKE_HALT_WAKEUP, 5);
	fake_stats_set(fd, FAKE_EXITS, 111);
	fake_stats_set(fd, FAKE_IO_EXITS, 22);
	fake_stats_set(fd, FAKE_MMIO_EXITS, 3);
	/* the layout is the reader's: if this fails, the fake is wrong */
	assert_int_equal(surface_read_stats_fd(fd, &st), 0);
	assert_int_equal(st.exits, 111);
	assert_int_equal(st.io_exits, 22);
	assert_int_equal(st.mmio_exits, 3);
	assert_int_equal(st.halt_exits, 0);
}

static void exit_rate_and_storms_from_kernel_counts(void **state)
{
	static const char policy[] =
		"{\"version\": 1, \"settings\": {\"exit_storm_per_s\": 1000},\n"
		" \"rules\": [{\"name\": \"storm\", \"match\": {\"kind\": \"exit_storm\"}, \"escalate\": [\"log\"]}]}";
	static const struct { uint64_t per_tick, rate; } phases[] = { { 25, 500 }, { 250, 5000 }, { 25, 500 } };
	struct fx *fx = *state;
	struct ho *ho = start(fx, policy);
	int vcpu[2] = { fake_stats(fx, 0), fake_stats(fx, 1) };
	uint64_t t = ho_now_ns(), exits = 0, last_storm = 0;
	unsigned storms = 0;
	char detail[EVENT_DETAIL_MAX];

	/* Ticks 100 ms apart; each vCPU's count grows by per_tick each. */
	for (unsigned p = 0; p < 3; p++) {
		for (unsigned i = 0; i < 15; i++) {
			unsigned now_storms;

			t += MS(100);
			exits += phases[p].per_tick;
			fake_stats_set(vcpu[0], FAKE_EXITS, exits);
			fake_stats_set(vcpu[1], FAKE_EXITS, exits);
			ho_tick(ho, t);
			now_storms = nr_events(fx, "exit_storm");
			if (now_storms != storms) {
				/* one at a time, only above the limit, at most every 200 ms */
				assert_int_equal(now_storms, storms + 1);
				assert_true(ho->last_rate > 1000);
				assert_true(!last_storm || t - last_storm >= MS(200));
				last_storm = t;
				storms = now_storms;
			} else if (ho->last_rate > 1000) {
				assert_true(t - last_storm < MS(200));
			}
			/* a full second of one rate: exactly that rate */
			if (i >= 10)
				assert_int_equal(ho->last_rate, phases[p].rate);
		}
		if (p == 0)
			assert_int_equal(storms, 0);
		if (p == 1) {
			assert_true(storms >= 3); /* a second and a half of storm */
			assert_int_equal(find_events(fx, "exit_storm", "vcpu", "", detail, sizeof(detail), NULL), storms);
			assert_non_null(strstr(detail, "5000 exits/s"));
			assert_non_null(strstr(detail, "limit 1000/s"));
			assert_int_equal(find_events(fx, "policy_action", NULL, "log", NULL, 0, NULL), storms);
		}
	}
	/* the storm is over: the last ticks raised nothing */
	assert_true(t - last_storm > MS(400));
	assert_int_equal(ho->peak_rate, 5000);
	assert_int_equal(ho->kvm_exits[0], exits);
	assert_int_equal(ho->kvm_exits[1], exits);
}

static void diverging_reports_are_caught(void **state)
{
	static const char policy[] =
		"{\"version\": 1, \"settings\": {\"diverge_percent\": 10, \"diverge_slack\": 64}, \"rules\": []}";
	struct fx *fx = *state;
	struct ho *ho = start(fx, policy);
	int vcpu[2] = { fake_stats(fx, 0), fake_stats(fx, 1) };
	uint64_t t = ho_now_ns();
	char detail[EVENT_DETAIL_MAX];

	/* kernel and agents agree */
	fake_stats_set(vcpu[0], FAKE_MMIO_EXITS, 600);
	fake_stats_set(vcpu[1], FAKE_MMIO_EXITS, 400);
	atomic_store(&fx->tel->vcpu[0].mmio_exits, 600);
	atomic_store(&fx->tel->vcpu[1].mmio_exits, 400);
	ho_tick(ho, t);
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 0);

	/* 2000 counted by the kernel: 10% short (1800) less 64 is tolerated */
	fake_stats_set(vcpu[0], FAKE_MMIO_EXITS, 1200);
	fake_stats_set(vcpu[1], FAKE_MMIO_EXITS, 800);
	atomic_store(&fx->tel->vcpu[0].mmio_exits, 1000);
	atomic_store(&fx->tel->vcpu[1].mmio_exits, 736);
	ho_tick(ho, t + MS(1000));
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 0);

	/* one less is not; the check runs once a second */
	atomic_store(&fx->tel->vcpu[1].mmio_exits, 735);
	ho_tick(ho, t + MS(1500));
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 0);
	ho_tick(ho, t + MS(2000));
	assert_int_equal(find_events(fx, "reports_diverge", "vmm", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "agents report 1735 MMIO exits, the kernel counted 2000"));
	ho_tick(ho, t + MS(2500));
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 1);
	ho_tick(ho, t + MS(3000)); /* a lie that lasts is reported again */
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 2);

	/* honest again */
	atomic_store(&fx->tel->vcpu[1].mmio_exits, 800);
	atomic_store(&fx->tel->vcpu[0].mmio_exits, 1200);
	ho_tick(ho, t + MS(4000));
	ho_tick(ho, t + MS(5000));
	assert_int_equal(event_log_count(fx->log, EV_REPORTS_DIVERGE), 2);
}

/* --- responses -------------------------------------------------------- */

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

/* The state letter of /proc/PID/stat ('T': stopped), '?' when gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Signals arrive asynchronously: waits up to 2 s for the child to be
 * stopped (or running). */
static bool becomes_stopped(pid_t pid, bool stopped)
{
	for (int i = 0; i < 400; i++) {
		char s = proc_state(pid);

		if (s != '?' && (s == 'T') == stopped)
			return true;
		usleep(5000);
	}
	return false;
}

/* guest RAM of `size` bytes with markers in it */
static void make_guest_ram(struct fx *fx, size_t size)
{
	static const char a[] = "kfv-forensic-marker-A", b[] = "kfv-forensic-marker-B";

	fx->memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	assert_true(fx->memfd >= 0);
	assert_int_equal(ftruncate(fx->memfd, (off_t)size), 0);
	assert_int_equal(pwrite(fx->memfd, a, sizeof(a), (off_t)(size / 3 * 2 + 5)), sizeof(a));
	assert_int_equal(pwrite(fx->memfd, b, sizeof(b), (off_t)(size - sizeof(b))), sizeof(b));
}

static unsigned files_in(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* The dump holds exactly guest RAM, is the owner's alone and in the
 * forensics directory. */
static void check_dump(struct fx *fx, const char *path)
{
	struct stat st, ram;
	char *want, *got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(strncmp(path, fx->dir, strlen(fx->dir)), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(fstat(fx->memfd, &ram), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, ram.st_size);
	want = malloc((size_t)ram.st_size);
	got = malloc((size_t)ram.st_size);
	assert_non_null(want);
	assert_non_null(got);
	assert_int_equal(pread(fx->memfd, want, (size_t)ram.st_size, 0), ram.st_size);
	assert_int_equal(pread(fd, got, (size_t)ram.st_size, 0), ram.st_size);
	assert_non_null(memmem(got, (size_t)st.st_size, "kfv-forensic-marker-A", 21));
	assert_non_null(memmem(got, (size_t)st.st_size, "kfv-forensic-marker-B", 21));
	assert_memory_equal(got, want, (size_t)ram.st_size);
	free(want);
	free(got);
	close(fd);
}

/* A guard alarm asks for a dump, nothing else: the dump tests' policy. */
static const char dump_policy[] =
	"{\"version\": 1, \"rules\": [{\"name\": \"evidence\", \"match\": {\"kind\": \"guard_alarm\"},"
	" \"escalate\": [\"dump\"]}]}";

static void dump_copies_guest_ram(void **state)
{
	struct fx *fx = *state;
	struct ho *ho;
	char first[sizeof(ho->last_dump)], detail[EVENT_DETAIL_MAX];

	/* more than the 1 MiB the dump copies at a time, not a multiple of it */
	make_guest_ram(fx, (3u << 20) + 4096);
	ho = start(fx, dump_policy);
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "test alarm");
	assert_int_equal(ho->dumps, 1);
	check_dump(fx, ho->last_dump);
	assert_int_equal(find_events(fx, "policy_action", "code_modified", "dump", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, ho->last_dump));
	snprintf(first, sizeof(first), "%s", ho->last_dump);

	/* a second one never overwrites the first */
	assert_int_equal(pwrite(fx->memfd, "changed", 7, 0), 7);
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "test alarm");
	assert_int_equal(ho->dumps, 2);
	assert_string_not_equal(ho->last_dump, first);
	check_dump(fx, ho->last_dump);
	assert_int_equal(files_in(fx->dir, "kfv-" VM_NAME "-"), 2);
	assert_int_equal(find_events(fx, "policy_action", NULL, "dump", NULL, 0, NULL), 2);
}

/* A dump that could not be written is on record, but not as taken. */
static void failed_dump_is_not_an_action_taken(void **state)
{
	struct fx *fx = *state;
	struct ho *ho;
	char detail[EVENT_DETAIL_MAX], gone[96];

	make_guest_ram(fx, 1u << 20);
	ho = start(fx, dump_policy);
	snprintf(gone, sizeof(gone), "%s/no-such-dir", fx->dir);
	ho->cfg.forensics_dir = gone;
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "test alarm");
	assert_int_equal(ho->dumps, 0);
	assert_int_equal(ho->last_dump[0], '\0');
	assert_int_equal(find_events(fx, "policy_action", "code_modified", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "dump failed"));
	assert_int_equal(find_events(fx, NULL, NULL, "dump", NULL, 0, NULL), 0);
	assert_int_equal(ho->actions[ACT_DUMP], 0);
	assert_int_equal(files_in(fx->dir, "kfv-"), 0);
}

/* Without --forensics there is no dump at all: guest RAM never lands in
 * whatever directory kfv was started from. */
static void no_forensics_dir_no_dump(void **state)
{
	struct fx *fx = *state;
	struct ho *ho;
	char detail[EVENT_DETAIL_MAX], cwd[4096];

	make_guest_ram(fx, 1u << 20);
	ho = start(fx, dump_policy);
	ho->cfg.forensics_dir = NULL;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->dir), 0);
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "test alarm");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ho->dumps, 0);
	assert_int_equal(find_events(fx, "policy_action", "code_modified", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "no --forensics directory"));
	assert_int_equal(ho->actions[ACT_DUMP], 0);
	assert_int_equal(files_in(fx->dir, "kfv-"), 0);
}

static void restarts_stop_at_the_budget(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, NULL);
	unsigned budget = policy_settings(fx->policy)->restart_budget;
	char detail[EVENT_DETAIL_MAX];

	assert_true(budget > 0);
	for (unsigned i = 0; i < budget; i++) {
		ho_event(ho, EV_VMM_DIED, SEV_CRITICAL, "vmm", 1, "died from signal 11");
		assert_true(ho->restart_requested);
		/* the supervisor starts a fresh VMM */
		ho->restart_requested = false;
		ho->restarts++;
	}
	assert_int_equal(find_events(fx, "policy_action", "vmm", "restart", NULL, 0, NULL), budget);
	ho_event(ho, EV_VMM_DIED, SEV_CRITICAL, "vmm", 1, "died from signal 11");
	assert_false(ho->restart_requested);
	assert_int_equal(find_events(fx, "policy_action", "vmm", "restart", NULL, 0, NULL), budget);
	assert_int_equal(find_events(fx, "policy_action", "vmm", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "restart refused"));
	assert_non_null(strstr(detail, "budget"));
	assert_int_equal(ho->actions[ACT_RESTART], budget);
}

static void quarantine_refuses_later_restarts(void **state)
{
	struct fx *fx = *state;
	struct ho *ho;
	char detail[EVENT_DETAIL_MAX];
	int ws;

	make_guest_ram(fx, 1u << 20);
	ho = start(fx, NULL);
	fx->child = spawn_sleeper();
	ho->pid = fx->child;

	/* The default policy on a corrupted VMM: dump, kill, restart. */
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "code page differs");
	assert_int_equal(ho->dumps, 1);
	assert_true(ho->killed_by_policy);
	assert_true(ho->restart_requested);
	assert_int_equal(waitpid(fx->child, &ws, 0), fx->child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

	/* the fresh VMM is corrupted too: dump and quarantine */
	ho_vmm_gone(ho);
	ho->restarts++;
	ho->restart_requested = ho->killed_by_policy = false;
	fx->child = spawn_sleeper();
	ho->pid = fx->child;
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "code_modified", 1, "code page differs");
	assert_int_equal(ho->dumps, 2);
	assert_true(ho->quarantined);
	assert_false(ho->restart_requested);
	assert_int_equal(find_events(fx, "policy_action", NULL, "quarantine", NULL, 0, NULL), 1);
	assert_int_equal(waitpid(fx->child, &ws, 0), fx->child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	fx->child = -1;

	/* within the budget, but quarantined: refused */
	assert_true(ho->restarts < policy_settings(fx->policy)->restart_budget);
	ho_vmm_gone(ho);
	ho_event(ho, EV_VMM_DIED, SEV_CRITICAL, "vmm", 1, "died from signal 9");
	assert_false(ho->restart_requested);
	assert_int_equal(find_events(fx, "policy_action", "vmm", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "refused"));
	assert_non_null(strstr(detail, "quarantined"));
	assert_int_equal(ho->actions[ACT_RESTART], 1);
}

/* Rules picked by resource, so one policy serves the signal tests. */
static const char signal_policy[] =
	"{\"version\": 1, \"settings\": {\"throttle_percent\": 30},\n"
	" \"rules\": [\n"
	"  {\"name\": \"stop-a-while\", \"match\": {\"kind\": \"guard_alarm\", \"resource\": \"pause-me\"},"
	"   \"escalate\": [\"pause\"], \"pause_ms\": 150},\n"
	"  {\"name\": \"slow-down\", \"match\": {\"kind\": \"guard_alarm\", \"resource\": \"throttle-me\"},"
	"   \"escalate\": [\"throttle\"]},\n"
	"  {\"name\": \"end-it\", \"match\": {\"kind\": \"guard_alarm\", \"resource\": \"kill-me\"},"
	"   \"escalate\": [\"kill\"]}]}";

static void pause_without_a_cgroup_stops_and_resumes(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, signal_policy);
	char detail[EVENT_DETAIL_MAX];
	uint64_t before = ho_now_ns();

	fx->child = spawn_sleeper();
	ho->pid = fx->child;
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "pause-me", 1, "test");
	assert_true(ho->stopped);
	assert_false(ho->frozen);
	assert_true(becomes_stopped(fx->child, true));
	assert_int_equal(find_events(fx, "policy_action", "pause-me", "pause", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "150 ms"));
	assert_non_null(strstr(detail, "SIGSTOP"));
	/* the rule's own pause time */
	assert_true(ho->thaw_at_ns >= before + MS(150));
	assert_true(ho->thaw_at_ns <= ho_now_ns() + MS(150));

	ho_tick(ho, ho->thaw_at_ns - 1);
	assert_true(ho->stopped);
	usleep(20000);
	assert_int_equal(proc_state(fx->child), 'T');

	ho_tick(ho, ho->thaw_at_ns);
	assert_false(ho->stopped);
	assert_int_equal(ho->thaw_at_ns, 0);
	assert_true(becomes_stopped(fx->child, false));
}

static void throttle_without_a_cgroup_duty_cycles(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, signal_policy);
	char detail[EVENT_DETAIL_MAX];
	uint64_t t = ho_now_ns();
	unsigned running = 0;

	fx->child = spawn_sleeper();
	ho->pid = fx->child;
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "throttle-me", 1, "test");
	assert_int_equal(ho->throttle_percent, 30);
	assert_true(ho->throttle_by_signal);
	assert_int_equal(find_events(fx, "policy_action", "throttle-me", "throttle", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "SIGSTOP/SIGCONT"));
	/* a second throttle while throttled is no new action */
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "throttle-me", 1, "test");
	assert_int_equal(ho->actions[ACT_THROTTLE], 1);

	/* 30%: three ticks in every ten it runs, the others it is stopped */
	for (unsigned i = 1; i <= 20; i++) {
		bool run = i % 10 < 3;

		t += MS(50);
		ho_tick(ho, t);
		assert_true(becomes_stopped(fx->child, !run));
		running += run;
	}
	assert_int_equal(running, 6);
}

static void kill_ends_a_paused_vmm(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx, signal_policy);
	char detail[EVENT_DETAIL_MAX];
	int ws;

	fx->child = spawn_sleeper();
	ho->pid = fx->child;
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "pause-me", 1, "test");
	assert_true(becomes_stopped(fx->child, true));
	ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, "kill-me", 1, "test");
	assert_true(ho->killed_by_policy);
	assert_non_null(strstr(ho->kill_reason, "end-it"));
	assert_non_null(strstr(ho->kill_reason, "guard_alarm"));
	assert_int_equal(waitpid(fx->child, &ws, 0), fx->child);
	fx->child = -1;
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGKILL);
	assert_int_equal(find_events(fx, "policy_action", "kill-me", "kill", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "killed"));
	assert_int_equal(ho->actions[ACT_KILL], 1);
}

/* --- ho_supervise ----------------------------------------------------- */

static void *send_sigterm(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* let the supervising thread take it */
	usleep(100000);
	kill(getpid(), SIGTERM);
	return NULL;
}

static void supervise_relays_and_reports(void **state)
{
	struct policy *policy = NULL;
	struct ho_config cfg = { .vm = VM_NAME, .tel = telemetry_current(), .guest_memfd = -1 };
	struct ho *ho = calloc(1, sizeof(*ho));
	char report[8], err[256];
	sigset_t stop, old;
	int p[2], status;
	pthread_t t;
	pid_t pid;

	(void)state;
	assert_non_null(ho);
	assert_int_equal(policy_load_default(&policy, err, sizeof(err)), 0);
	cfg.policy = policy;
	ho_init(ho, &cfg);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* Born with SIGTERM blocked, as jail_spawn() makes its children (a
	 * plain fork here, so that the test needs no root). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &stop, &old), 0);
	pid = fork();
	if (pid == 0) { /* a VMM: reads the stop signals from a signalfd */
		struct signalfd_siginfo si;
		int sfd;

		alarm(10); /* a signal never relayed fails the test, not hangs it */
		usleep(200000); /* late: the signal was relayed before it looked */
		sfd = signalfd(-1, &stop, 0);
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si) || si.ssi_signo != SIGTERM)
			_exit(1);
		(void)!write(p[1], "stopped by SIGTERM", 18); /* more than the caller keeps */
		_exit(42);
	}
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	close(p[1]);
	assert_int_equal(pthread_create(&t, NULL, send_sigterm, NULL), 0);
	assert_int_equal(ho_supervise(ho, pid, p[0], -1, -1, report, sizeof(report), &status), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
	assert_string_equal(report, "stopped");
	assert_int_equal(ho->pid, 0); /* reaped: its pid is no longer the VMM's to signal */
	assert_false(ho->killed_by_policy);
	close(p[0]);
	ho_vmm_gone(ho);
	policy_free(policy);
	free(ho);
}

/* The VMM hands over its statistics fds on the control socket; the guard's
 * lines come on their pipe. */
/* One code change, two checks that see it: under the default policy the
 * first alarm kills and restarts; the second, from the VMM already killed,
 * goes on record and does not climb the ladder to quarantine. */
static void second_alarm_from_a_killed_vmm_is_on_record_only(void **state)
{
	static const char lines[] = "alarm code_pages byte at 0x1000 differs from the file\n"
				    "alarm code_modified wrong answer to challenge 3\n";
	struct fx *fx = *state;
	struct ho *ho = start(fx, NULL);
	char detail[EVENT_DETAIL_MAX];
	int pipefd[2], ws;

	fx->child = spawn_sleeper();
	ho->pid = fx->child;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], lines, sizeof(lines) - 1), (ssize_t)sizeof(lines) - 1);
	ho_read_guard(ho, pipefd[0]);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_true(ho->killed_by_policy);
	assert_true(ho->restart_requested);
	assert_false(ho->quarantined);
	assert_int_equal(ho->guard_alarms, 2);
	assert_int_equal(find_events(fx, "guard_alarm", NULL, "", NULL, 0, NULL), 2);
	assert_int_equal(find_events(fx, "guard_alarm", "code_modified", "", detail, sizeof(detail), NULL), 1);
	assert_non_null(strstr(detail, "on record only"));
	assert_int_equal(find_events(fx, "policy_action", NULL, "quarantine", NULL, 0, NULL), 0);
	assert_int_equal(waitpid(fx->child, &ws, 0), fx->child);
	fx->child = -1;
}

static void supervise_takes_stats_fds_and_guard_lines(void **state)
{
	static const char guard_lines[] = "alarm code_modified .text differs at 0x1000\n"
					  "stats checks=7 challenges=2 alarms=1 cpu_ns=99\n";
	struct fx *fx = *state;
	struct ho *ho = start(fx, "{\"version\": 1, \"rules\": []}");
	char report[32], detail[EVENT_DETAIL_MAX];
	int rep[2], ctl[2], guard[2], status, stats;
	struct surface_kvm_stats st = { 0 };
	pid_t pid;

	/* the file is the VMM's to hand over, not the orchestrator's yet */
	stats = fake_stats_file(fx, 0);
	fx->fds[fx->nfds++] = stats;
	fake_stats_set(stats, FAKE_EXITS, 1234);
	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	assert_int_equal(pipe2(guard, O_CLOEXEC), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
	assert_int_equal(write(guard[1], guard_lines, sizeof(guard_lines) - 1), (ssize_t)sizeof(guard_lines) - 1);
	close(guard[1]);
	pid = fork();
	if (pid == 0) {
		if (handoff_send(ctl[1], "kvm-stats", &stats, 1))
			_exit(1);
		(void)!write(rep[1], "handed over", 11);
		_exit(0);
	}
	assert_true(pid > 0);
	close(rep[1]);
	close(ctl[1]);
	assert_int_equal(ho_supervise(ho, pid, rep[0], ctl[0], guard[0], report, sizeof(report), &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(report, "handed over");
	/* its own copy of the VMM's fd */
	assert_int_equal(ho->nr_stats, 1);
	assert_true(ho->stats_fds[0] != stats);
	assert_int_equal(surface_read_stats_fd(ho->stats_fds[0], &st), 0);
	assert_int_equal(st.exits, 1234);
	assert_int_equal(ho->kvm_exits[0], 1234); /* read at the last tick */
	/* the guard */
	assert_int_equal(ho->guard_alarms, 1);
	assert_int_equal(ho->guard_checks, 7);
	assert_int_equal(ho->guard_challenges, 2);
	assert_int_equal(ho->guard_cpu_ns, 99);
	assert_int_equal(find_events(fx, "guard_alarm", "code_modified", "", detail, sizeof(detail), NULL), 1);
	assert_string_equal(detail, ".text differs at 0x1000");
	close(rep[0]);
	close(ctl[0]);
	close(guard[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(telemetry_deltas_become_events, setup, teardown),
		cmocka_unit_test_setup_teardown(port_scan_is_logged_then_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(virtqueue_flood_resets_the_device, setup, teardown),
		cmocka_unit_test_setup_teardown(fake_stats_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_rate_and_storms_from_kernel_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(diverging_reports_are_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(dump_copies_guest_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(no_forensics_dir_no_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_dump_is_not_an_action_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(restarts_stop_at_the_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(quarantine_refuses_later_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(pause_without_a_cgroup_stops_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(throttle_without_a_cgroup_duty_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(kill_ends_a_paused_vmm, setup, teardown),
		cmocka_unit_test(supervise_relays_and_reports),
		cmocka_unit_test_setup_teardown(second_alarm_from_a_killed_vmm_is_on_record_only, setup, teardown),
		cmocka_unit_test_setup_teardown(supervise_takes_stats_fds_and_guard_lines, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
