/* bcryptprimitives.dll for Wine 8, built by .ci/wine-setup.sh.

   Go 1.22 and later Windows binaries get their random numbers from
   ProcessPrng in bcryptprimitives.dll at start-up, and Wine 8 does not
   ship that function, so a Go test binary dies before main. This DLL
   provides it on top of RtlGenRandom (SystemFunction036 in advapi32),
   which Wine has. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    /* RtlGenRandom takes a ULONG length: feed it in pieces. */
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
