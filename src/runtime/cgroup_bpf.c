/* Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, built
 * here instruction by instruction and loaded with the raw bpf(2) syscall (no
 * libbpf), in the manner of runc's devicefilter and crun's ebpf.c.
 *
 * The kernel runs the program on every open/mknod of a device node with
 *   struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
 * where access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*, and allows
 * the access when it returns 1.  The program checks the rules from the last
 * to the first, so the last matching rule decides, and denies when none
 * matches:
 *
 *	r2 = type, r3 = access, r4 = major, r5 = minor
 *	for each rule, last first:
 *		if type differs             goto next
 *		if access does not match    goto next
 *		if major differs            goto next   (skipped for "*")
 *		if minor differs            goto next   (skipped for "*")
 *		return allow
 *	next:
 *	return 0
 *
 * "Access matches" differs by rule kind: an allow rule must cover every
 * requested access (read+write needs both), a deny rule matches when it
 * covers any of them.  A rule with no condition ends the program: the
 * verifier rejects unreachable instructions. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"

#define LOG_BUF_SIZE (64 * 1024)

struct prog {
	struct bpf_insn *insns;
	size_t n, cap;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->insns = xrealloc(p->insns, p->cap * sizeof *p->insns);
	}
	p->insns[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

/* 32-bit compare of a register with a constant; off is patched later. */
static void emit_jmp32(struct prog *p, uint8_t op, uint8_t reg, int32_t imm)
{
	emit(p, BPF_JMP32 | op | BPF_K, reg, 0, 0, imm);
}

static uint32_t access_bits(const char *access)
{
	uint32_t bits = 0;
	for (const char *c = access; *c != '\0'; c++) {
		if (*c == 'r')
			bits |= BPF_DEVCG_ACC_READ;
		else if (*c == 'w')
			bits |= BPF_DEVCG_ACC_WRITE;
		else if (*c == 'm')
			bits |= BPF_DEVCG_ACC_MKNOD;
	}
	return bits;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/* Emit one rule's block.  Returns true when the block is unconditional. */
static bool emit_rule(struct prog *p, const struct cgroup_device_rule *r)
{
	size_t start = p->n;
	uint32_t acc = access_bits(r->access);
	if (r->type != 'a')
		emit_jmp32(p, BPF_JNE, BPF_REG_2, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	if (acc != ACC_ALL) {
		emit(p, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		if (r->allow) {
			/* requested & ~allowed != 0: asks for more than the rule gives */
			emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)(~acc & ACC_ALL));
			emit_jmp32(p, BPF_JNE, BPF_REG_1, 0);
		} else {
			/* requested & denied == 0: asks for nothing the rule denies */
			emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)acc);
			emit_jmp32(p, BPF_JEQ, BPF_REG_1, 0);
		}
	}
	if (r->major != CGROUP_DEV_ANY)
		emit_jmp32(p, BPF_JNE, BPF_REG_4, (int32_t)(uint32_t)r->major);
	if (r->minor != CGROUP_DEV_ANY)
		emit_jmp32(p, BPF_JNE, BPF_REG_5, (int32_t)(uint32_t)r->minor);
	bool unconditional = p->n == start;
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* Every conditional jump in the block goes to the end of the block. */
	for (size_t i = start; i < p->n; i++) {
		uint8_t cls = BPF_CLASS(p->insns[i].code);
		if (cls == BPF_JMP32)
			p->insns[i].off = (int16_t)(p->n - (i + 1));
	}
	return unconditional;
}

static void build_program(struct prog *p, const struct cgroup_device_rule *rules, size_t n)
{
	/* r2 = type, r3 = access, r4 = major, r5 = minor (r1 = ctx) */
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
	for (size_t i = n; i > 0; i--) {
		if (emit_rule(p, &rules[i - 1]))
			return;
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static int load_program(const struct prog *p, char *log, size_t log_size)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)p->insns;
	attr.insn_cnt = (uint32_t)p->n;
	attr.license = (uint64_t)(uintptr_t) "Apache";
	if (log != NULL) {
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
		log[0] = '\0';
	}
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

/* The verifier's last complaint, for the error message. */
static const char *last_log_line(char *log)
{
	size_t len = strlen(log);
	while (len > 0 && log[len - 1] == '\n')
		log[--len] = '\0';
	char *nl = strrchr(log, '\n');
	return nl != NULL ? nl + 1 : log;
}

int cgroup_bpf_attach_devices(const char *dir, const struct cgroup_device_rule *rules, size_t n,
                              struct mctr_err *err)
{
	struct prog p = { 0 };
	build_program(&p, rules, n);
	if (p.n > BPF_MAXINSNS) {
		free(p.insns);
		return mctr_fail(err, E2BIG, "%zu device rules make a BPF program that is too long", n);
	}
	_cleanup_close_ int prog_fd = load_program(&p, NULL, 0);
	if (prog_fd < 0) {
		int saved = errno;
		_cleanup_free_ char *log = xmalloc(LOG_BUF_SIZE);
		int fd = load_program(&p, log, LOG_BUF_SIZE);
		if (fd >= 0)
			close(fd);
		free(p.insns);
		return mctr_fail(err, saved, "load BPF device program (%s)",
		                 log[0] != '\0' ? last_log_line(log) : "no verifier log");
	}
	free(p.insns);
	_cleanup_close_ int cg_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return mctr_fail_errno(err, "open %s", dir);
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cg_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* ALLOW_MULTI: programs of the ancestors (systemd's) keep running too,
	 * and every one of them must allow the access. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return mctr_fail_errno(err, "attach BPF device program to %s", dir);
	/* The attachment holds the program; our fd can go. */
	return 0;
}

bool cgroup_bpf_devices_supported(void)
{
	static int cached = -1;
	if (cached < 0) {
		struct prog p = { 0 };
		emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		int fd = load_program(&p, NULL, 0);
		free(p.insns);
		cached = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return cached == 1;
}
