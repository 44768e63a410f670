/* CRC-32 as in IEEE 802.3 / zlib / PNG: reflected polynomial 0xEDB88320, initial
 * value and final xor 0xFFFFFFFF, so cr_crc32(0, "123456789", 9) = 0xCBF43926.
 *
 * Small inputs use a 16-entry half-byte table (two lookups per byte); large ones
 * first build the classic 256-entry table on the stack (2 KiB of work, no global
 * state), one lookup per byte. */
#include "chainrule.h"

static const uint32_t nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
    0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t cr_crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    crc = ~crc;
    if (!p) return ~crc;
    if (n >= 4096) {
        uint32_t table[256];
        for (unsigned b = 0; b < 256; b++) {
            uint32_t c = b;
            c = (c >> 4) ^ nibble[c & 15];
            c = (c >> 4) ^ nibble[c & 15];
            table[b] = c;
        }
        for (size_t i = 0; i < n; i++) crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xFFu];
    } else {
        for (size_t i = 0; i < n; i++) {
            crc ^= p[i];
            crc = (crc >> 4) ^ nibble[crc & 15];
            crc = (crc >> 4) ^ nibble[crc & 15];
        }
    }
    return ~crc;
}
