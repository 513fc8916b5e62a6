/* Simulated TCP segments and UDP datagrams as a pcap file that Wireshark and
 * tshark open: Ethernet, IPv4 or IPv6 and TCP or UDP headers with correct
 * lengths and checksums,
 * nanosecond timestamps from simulated time (counted from 2026-01-01 UTC so
 * dates read sensibly). Written to a temporary name and renamed on close. */
#ifndef PS_PCAP_WRITER_H
#define PS_PCAP_WRITER_H

#include <glib.h>
#include <stdint.h>
#include "sim_time.h"
#include "values.h"

enum {
    PS_TCP_FIN = 0x01,
    PS_TCP_SYN = 0x02,
    PS_TCP_RST = 0x04,
    PS_TCP_PSH = 0x08,
    PS_TCP_ACK = 0x10,
};

typedef enum {
    PS_SEG_TCP,       /* seq, ack and flags apply */
    PS_SEG_DNS_QUERY, /* a UDP datagram carrying a DNS query; seq is its id */
    PS_SEG_DNS_ANSWER,
} PsSegmentKind;

typedef struct {
    SimAddress src, dst; /* same family */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint8_t kind; /* PsSegmentKind; 0 (TCP) when left out */
} PsSegment;

typedef struct PsPcap PsPcap;

/* SIM_ERROR_RUNTIME when the file cannot be created. */
PsPcap *ps_pcap_open(const char *path, GError **error);
void ps_pcap_write(PsPcap *pcap, SimTime at, const PsSegment *segment);
guint64 ps_pcap_count(const PsPcap *pcap);
/* Flushes and renames into place; frees the writer in every case. */
gboolean ps_pcap_close(PsPcap *pcap, GError **error);

#endif
