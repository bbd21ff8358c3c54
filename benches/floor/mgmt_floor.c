/*
 * The C floor of the pairing benchmark: the least a raw-MGMT agent can do.
 *
 *   mgmt_floor                  answer every User Confirmation Request on every controller
 *   mgmt_floor INDEX            answer those on controller INDEX only (the benchmark's
 *                               responder: one answerer per side, as the other agents)
 *   mgmt_floor INDEX ADDR TYPE  answer those on INDEX, after sending Pair Device (IO
 *                               capability DisplayYesNo) to ADDR (e.g. 00:AA:01:01:00:01,
 *                               TYPE 1 = LE public); exits when Pair Device completes
 *                               (status = exit code)
 *   mgmt_floor unpair INDEX ADDR [INDEX ADDR]...
 *                               Unpair Device (BR/EDR, LE public, LE random; disconnecting) for each
 *                               pair; the benchmark's cleanup between pairings
 *   mgmt_floor load INDEX KIND COUNT
 *                               send one Load Long Term Keys (KIND ltk) or Load Link Keys
 *                               (KIND linkkey) with COUNT made-up keys; prints the status
 *
 * One socket (AF_BLUETOOTH, SOCK_RAW, BTPROTO_HCI bound to HCI_DEV_NONE on the control
 * channel), one blocking read loop, and a confirm request is answered before anything else is
 * looked at. Written from BlueZ doc/mgmt-protocol.rst; no BlueZ headers, so it builds with any
 * libc (statically, to run in the benchmark VM).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define AF_BT 31
#define BTPROTO_HCI 1
#define HCI_DEV_NONE 0xffff
#define HCI_CHANNEL_CONTROL 3
#define SOL_BT 274
#define BT_SNDMTU 12

#define EV_CMD_COMPLETE 0x0001
#define EV_CMD_STATUS 0x0002
#define EV_USER_CONFIRM_REQUEST 0x000f
#define OP_PAIR_DEVICE 0x0019
#define OP_USER_CONFIRM_REPLY 0x001c
#define OP_UNPAIR_DEVICE 0x001b
#define OP_LOAD_LINK_KEYS 0x0012
#define OP_LOAD_LONG_TERM_KEYS 0x0013

struct sockaddr_hci {
	unsigned short family;
	unsigned short dev;
	unsigned short channel;
};

static int sk;

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static uint16_t get16(const uint8_t *p) { return p[0] | p[1] << 8; }

/* Sends one command: header (opcode, index, length) then parameters. */
static int send_cmd(uint16_t op, uint16_t index, const uint8_t *params, uint16_t len)
{
	static uint8_t buf[6 + 65535];
	put16(buf, op);
	put16(buf + 2, index);
	put16(buf + 4, len);
	memcpy(buf + 6, params, len);
	return write(sk, buf, 6 + len) == 6 + len ? 0 : -1;
}

static int parse_addr(const char *s, uint8_t out[6])
{
	unsigned b[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[5], &b[4], &b[3], &b[2], &b[1], &b[0]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		out[i] = b[i];
	return 0;
}

/* Waits for the Command Complete / Status of OP; returns its status. */
static int wait_reply(uint16_t op)
{
	uint8_t buf[1024];
	for (;;) {
		ssize_t n = read(sk, buf, sizeof buf);
		if (n < 0)
			return -1;
		uint16_t ev = get16(buf);
		if ((ev == EV_CMD_COMPLETE || ev == EV_CMD_STATUS) && n >= 9 && get16(buf + 6) == op)
			return buf[8];
	}
}

static int unpair(int argc, char **argv)
{
	for (int i = 0; i + 1 < argc; i += 2) {
		uint8_t p[8];
		if (parse_addr(argv[i + 1], p) < 0)
			return 2;
		for (uint8_t type = 0; type <= 2; type++) {
			p[6] = type;
			p[7] = 1; /* disconnect */
			if (send_cmd(OP_UNPAIR_DEVICE, atoi(argv[i]), p, sizeof p) < 0 ||
			    wait_reply(OP_UNPAIR_DEVICE) < 0)
				return 1;
		}
	}
	return 0;
}

static int load(uint16_t index, const char *kind, unsigned count)
{
	static uint8_t p[65535];
	size_t len;
	uint16_t op;
	if (!strcmp(kind, "ltk")) {
		op = OP_LOAD_LONG_TERM_KEYS;
		len = 2 + 36 * (size_t)count;
	} else {
		op = OP_LOAD_LINK_KEYS;
		len = 3 + 25 * (size_t)count;
	}
	if (len > sizeof p) {
		fprintf(stderr, "%u keys do not fit one command\n", count);
		return 2;
	}
	memset(p, 0, len);
	uint8_t *k = p + (op == OP_LOAD_LINK_KEYS ? 3 : 2);
	put16(p + (op == OP_LOAD_LINK_KEYS ? 1 : 0), count);
	for (unsigned i = 0; i < count; i++) {
		size_t sz = op == OP_LOAD_LINK_KEYS ? 25 : 36;
		uint8_t *e = k + i * sz;
		e[0] = i; e[1] = i >> 8; e[2] = 0x11; e[3] = 0x22; e[4] = 0x33; e[5] = 0x44;
		if (op == OP_LOAD_LINK_KEYS) {
			e[6] = 0;              /* BR/EDR */
			e[7] = 0x04;           /* unauthenticated combination key P-192 */
			memset(e + 8, 0x5a, 16);
		} else {
			e[6] = 1;              /* LE public */
			e[7] = 0;              /* unauthenticated legacy */
			e[8] = 1;              /* central */
			e[9] = 16;             /* encryption size */
			memset(e + 20, 0x5a, 16);
		}
	}
	if (send_cmd(op, index, p, len) < 0) {
		printf("load %s %u: send failed: %s\n", kind, count, strerror(errno));
		return 1;
	}
	int status = wait_reply(op);
	printf("load %s %u: status 0x%02x\n", kind, count, status);
	return status != 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_hci a = { AF_BT, HCI_DEV_NONE, HCI_CHANNEL_CONTROL };
	sk = socket(AF_BT, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
	if (sk < 0 || bind(sk, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("mgmt_floor: control socket");
		return 1;
	}
	if (argc == 5 && !strcmp(argv[1], "load")) {
		/* As bluetoothd does: a send MTU large enough for the largest command. */
		uint16_t mtu = 65535;
		setsockopt(sk, SOL_BT, BT_SNDMTU, &mtu, sizeof mtu);
		return load(atoi(argv[2]), argv[3], atoi(argv[4]));
	}
	if (argc >= 4 && !strcmp(argv[1], "unpair"))
		return unpair(argc - 2, argv + 2);
	int pairing = argc == 4;
	/* The controller whose requests this process answers; -1: every controller. */
	int serve = argc == 2 || pairing ? atoi(argv[1]) : -1;
	if (pairing) {
		uint8_t p[8];
		if (parse_addr(argv[2], p) < 0) {
			fprintf(stderr, "mgmt_floor: bad address %s\n", argv[2]);
			return 2;
		}
		p[6] = atoi(argv[3]);
		p[7] = 0x01; /* DisplayYesNo */
		if (send_cmd(OP_PAIR_DEVICE, atoi(argv[1]), p, sizeof p) < 0) {
			perror("mgmt_floor: pair device");
			return 1;
		}
	} else {
		printf("ready\n");
		fflush(stdout);
	}
	uint8_t buf[1024];
	for (;;) {
		ssize_t n = read(sk, buf, sizeof buf);
		if (n < 6)
			return 1;
		uint16_t ev = get16(buf), index = get16(buf + 2);
		if (ev == EV_USER_CONFIRM_REQUEST && n >= 6 + 7 && (serve < 0 || index == serve)) {
			/* The reply carries the request's address info (7 bytes): answer at once. */
			send_cmd(OP_USER_CONFIRM_REPLY, index, buf + 6, 7);
			continue;
		}
		if (pairing && (ev == EV_CMD_COMPLETE || ev == EV_CMD_STATUS) && n >= 9 &&
		    get16(buf + 6) == OP_PAIR_DEVICE)
			return buf[8];
	}
}
