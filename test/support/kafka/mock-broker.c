/*
 * Sluice test broker: a standalone librdkafka mock cluster.
 *
 * Starts a mock Kafka cluster (librdkafka's rd_kafka_mock_cluster_new, built
 * from the patched source, see librdkafka-mock-transactions.patch), prints
 *
 *     BOOTSTRAP <host:port,host:port,...>
 *
 * on stdout once it accepts connections, then reads control commands from
 * stdin, one per line, and answers each with one line, "OK" or "ERR <text>":
 *
 *     ping
 *     broker-down <id>
 *     broker-up <id>
 *     broker-rtt <id> <ms>
 *     push-errors <apiKey> <err1,err2,...>           (cluster-wide, in order)
 *     push-broker-errors <id> <apiKey> <err1,...>    (one broker only)
 *     clear-errors <apiKey>
 *     partition-leader <topic> <partition> <brokerId>
 *     create-topic <name> <partitions> <replicationFactor>
 *     delete-topic <name>
 *     coordinator <group|transaction> <key> <brokerId>
 *
 * Error codes are numbers (e.g. 6, -195) or names from librdkafka's error
 * table, i.e. the enum name without the RD_KAFKA_RESP_ERR_ prefix (NOT_LEADER_FOR_PARTITION, _TRANSPORT).
 *
 * The process exits when stdin reaches end-of-file (so it never outlives the
 * process that spawned it, even if that one is SIGKILLed) and on
 * SIGTERM/SIGINT/SIGHUP.
 *
 * Auto-created topics get librdkafka's mock defaults: 4 partitions,
 * replication factor min(3, brokers).
 *
 * Usage: mock-broker [--brokers N] [--rebalance-delay-ms MS] [--debug CTXS]
 *   --rebalance-delay-ms: group.initial.rebalance.delay.ms (default 0 here,
 *                         3000 in Kafka and in the stock mock) so consumer
 *                         groups form quickly in tests.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rdkafka.h"
#include "rdkafka_mock.h"

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
        char c = (char)sig;
        ssize_t r = write(sig_pipe[1], &c, 1);
        (void)r;
}

static void reply(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

static int parse_int(const char *s, long min, long max, long *out) {
        char *end;
        long v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Error code by number or by librdkafka name (without the prefix). */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
        const struct rd_kafka_err_desc *descs;
        size_t cnt, i;
        long v;

        if (parse_int(s, -1000, 10000, &v) == 0) {
                *out = (rd_kafka_resp_err_t)v;
                return 0;
        }
        rd_kafka_get_err_descs(&descs, &cnt);
        for (i = 0; i < cnt; i++) {
                if (descs[i].name && !strcasecmp(descs[i].name, s)) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

/* Comma-separated error list; returns count or -1. */
static int parse_err_list(char *s, rd_kafka_resp_err_t *errs, int max) {
        int cnt = 0;
        char *save = NULL, *tok;
        for (tok = strtok_r(s, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
                if (cnt == max || parse_err(tok, &errs[cnt]))
                        return -1;
                cnt++;
        }
        return cnt;
}

static void reply_err(rd_kafka_resp_err_t err) {
        if (err)
                reply("ERR %s: %s", rd_kafka_err2name(err),
                      rd_kafka_err2str(err));
        else
                reply("OK");
}

#define MAX_ARGS 8
#define MAX_ERRS 1000

static void handle_command(rd_kafka_mock_cluster_t *mcluster,
                           char *line,
                           int broker_cnt) {
        char *argv[MAX_ARGS];
        int argc = 0;
        char *save = NULL, *tok;
        long a, b, c;
        static rd_kafka_resp_err_t errs[MAX_ERRS];
        int errcnt;
        const char *cmd;

        for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < MAX_ARGS;
             tok = strtok_r(NULL, " \t\r\n", &save))
                argv[argc++] = tok;

        if (argc == 0)
                return; /* blank line: no answer */
        cmd = argv[0];

#define NEED(n, usage)                                                         \
        do {                                                                   \
                if (argc != (n) + 1) {                                         \
                        reply("ERR usage: %s %s", cmd, usage);                 \
                        return;                                                \
                }                                                              \
        } while (0)
#define BROKER_ID(s, out)                                                      \
        do {                                                                   \
                if (parse_int((s), 1, broker_cnt, (out))) {                    \
                        reply("ERR invalid broker id: %s", (s));               \
                        return;                                                \
                }                                                              \
        } while (0)

        if (!strcmp(cmd, "ping")) {
                reply("OK");

        } else if (!strcmp(cmd, "broker-down")) {
                NEED(1, "<id>");
                BROKER_ID(argv[1], &a);
                reply_err(rd_kafka_mock_broker_set_down(mcluster, (int32_t)a));

        } else if (!strcmp(cmd, "broker-up")) {
                NEED(1, "<id>");
                BROKER_ID(argv[1], &a);
                reply_err(rd_kafka_mock_broker_set_up(mcluster, (int32_t)a));

        } else if (!strcmp(cmd, "broker-rtt")) {
                NEED(2, "<id> <ms>");
                BROKER_ID(argv[1], &a);
                if (parse_int(argv[2], 0, 3600 * 1000, &b)) {
                        reply("ERR invalid rtt: %s", argv[2]);
                        return;
                }
                reply_err(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a,
                                                       (int)b));

        } else if (!strcmp(cmd, "push-errors")) {
                NEED(2, "<apiKey> <err1,err2,...>");
                if (parse_int(argv[1], 0, 32767, &a)) {
                        reply("ERR invalid apiKey: %s", argv[1]);
                        return;
                }
                if ((errcnt = parse_err_list(argv[2], errs, MAX_ERRS)) < 1) {
                        reply("ERR invalid error list: %s", argv[2]);
                        return;
                }
                rd_kafka_mock_push_request_errors_array(
                    mcluster, (int16_t)a, (size_t)errcnt, errs);
                reply("OK");

        } else if (!strcmp(cmd, "push-broker-errors")) {
                int i;
                NEED(3, "<brokerId> <apiKey> <err1,err2,...>");
                BROKER_ID(argv[1], &a);
                if (parse_int(argv[2], 0, 32767, &b)) {
                        reply("ERR invalid apiKey: %s", argv[2]);
                        return;
                }
                if ((errcnt = parse_err_list(argv[3], errs, MAX_ERRS)) < 1) {
                        reply("ERR invalid error list: %s", argv[3]);
                        return;
                }
                for (i = 0; i < errcnt; i++) {
                        rd_kafka_resp_err_t err =
                            rd_kafka_mock_broker_push_request_error_rtts(
                                mcluster, (int32_t)a, (int16_t)b, 1, errs[i],
                                0);
                        if (err) {
                                reply_err(err);
                                return;
                        }
                }
                reply("OK");

        } else if (!strcmp(cmd, "clear-errors")) {
                NEED(1, "<apiKey>");
                if (parse_int(argv[1], 0, 32767, &a)) {
                        reply("ERR invalid apiKey: %s", argv[1]);
                        return;
                }
                rd_kafka_mock_clear_request_errors(mcluster, (int16_t)a);
                reply("OK");

        } else if (!strcmp(cmd, "partition-leader")) {
                NEED(3, "<topic> <partition> <brokerId>");
                if (parse_int(argv[2], 0, 1000000, &a)) {
                        reply("ERR invalid partition: %s", argv[2]);
                        return;
                }
                /* -1 makes the partition leaderless. */
                if (strcmp(argv[3], "-1"))
                        BROKER_ID(argv[3], &b);
                else
                        b = -1;
                reply_err(rd_kafka_mock_partition_set_leader(
                    mcluster, argv[1], (int32_t)a, (int32_t)b));

        } else if (!strcmp(cmd, "create-topic")) {
                NEED(3, "<name> <partitions> <replicationFactor>");
                if (parse_int(argv[2], 1, 100000, &a)) {
                        reply("ERR invalid partition count: %s", argv[2]);
                        return;
                }
                if (parse_int(argv[3], 1, broker_cnt, &c)) {
                        reply("ERR invalid replication factor: %s", argv[3]);
                        return;
                }
                reply_err(rd_kafka_mock_topic_create(mcluster, argv[1], (int)a,
                                                     (int)c));

        } else if (!strcmp(cmd, "delete-topic")) {
                NEED(1, "<name>");
                reply_err(rd_kafka_mock_topic_delete(mcluster, argv[1]));

        } else if (!strcmp(cmd, "coordinator")) {
                NEED(3, "<group|transaction> <key> <brokerId>");
                if (strcmp(argv[1], "group") && strcmp(argv[1], "transaction")) {
                        reply("ERR invalid coordinator type: %s", argv[1]);
                        return;
                }
                BROKER_ID(argv[3], &a);
                reply_err(rd_kafka_mock_coordinator_set(mcluster, argv[1],
                                                        argv[2], (int32_t)a));

        } else {
                reply("ERR unknown command: %s", cmd);
        }
#undef NEED
#undef BROKER_ID
}

static void usage(const char *prog) {
        fprintf(stderr,
                "Usage: %s [--brokers N] [--rebalance-delay-ms MS] "
                "[--debug CONTEXTS]\n",
                prog);
        exit(2);
}

int main(int argc, char **argv) {
        long brokers = 3, rebalance_delay_ms = 0;
        const char *debug = NULL;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        sigset_t block, orig;
        struct sigaction sa;
        char line[8192];
        size_t linelen = 0;
        int i, run = 1;

        for (i = 1; i < argc; i++) {
                const char *opt = argv[i];
                const char *val = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(opt, "--brokers")) {
                        if (parse_int(val, 1, 64, &brokers))
                                usage(argv[0]);
                } else if (!strcmp(opt, "--rebalance-delay-ms")) {
                        if (parse_int(val, 0, 600000, &rebalance_delay_ms))
                                usage(argv[0]);
                } else if (!strcmp(opt, "--debug")) {
                        if (!val)
                                usage(argv[0]);
                        debug = val;
                } else {
                        usage(argv[0]);
                }
                i++;
        }

        /* Signals are blocked in every thread librdkafka starts (they inherit
         * this mask) and delivered only to the main thread, which turns them
         * into a byte on sig_pipe that the control loop polls. */
        if (pipe(sig_pipe) == -1) {
                perror("pipe");
                return 1;
        }
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &block, &orig);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        conf = rd_kafka_conf_new();
        /* This handle only hosts the cluster: hush its notices (such as
         * "No bootstrap.servers configured") unless debugging. */
        if (!debug)
                rd_kafka_conf_set(conf, "log_level", "4", errstr,
                                  sizeof(errstr));
        if (debug &&
            rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) !=
                RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-broker: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-broker: rd_kafka_new failed: %s\n",
                        errstr);
                return 1;
        }

        mcluster = rd_kafka_mock_cluster_new(rk, (int)brokers);
        if (!mcluster) {
                fprintf(stderr, "mock-broker: failed to create cluster\n");
                return 1;
        }
        rd_kafka_mock_group_initial_rebalance_delay_ms(
            mcluster, (int32_t)rebalance_delay_ms);

        pthread_sigmask(SIG_SETMASK, &orig, NULL);
        pthread_sigmask(SIG_UNBLOCK, &block, NULL);

        reply("BOOTSTRAP %s", rd_kafka_mock_cluster_bootstraps(mcluster));

        while (run) {
                struct pollfd pfd[2] = {{STDIN_FILENO, POLLIN, 0},
                                        {sig_pipe[0], POLLIN, 0}};
                ssize_t r;
                char *nl;

                if (poll(pfd, 2, -1) == -1) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        break;
                }
                if (pfd[1].revents)
                        break; /* SIGTERM/SIGINT/SIGHUP */
                if (!pfd[0].revents)
                        continue;

                r = read(STDIN_FILENO, line + linelen,
                         sizeof(line) - 1 - linelen);
                if (r == -1 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (r <= 0)
                        break; /* EOF: our parent is gone */
                linelen += (size_t)r;
                line[linelen] = '\0';

                while ((nl = strchr(line, '\n'))) {
                        size_t used = (size_t)(nl - line) + 1;
                        *nl         = '\0';
                        handle_command(mcluster, line, (int)brokers);
                        memmove(line, line + used, linelen - used + 1);
                        linelen -= used;
                }
                if (linelen == sizeof(line) - 1) {
                        reply("ERR line too long");
                        linelen = 0;
                }
        }

        /* Don't let a wedged shutdown keep the process (and its ports)
         * around: the default SIGALRM action terminates us. */
        alarm(5);
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
