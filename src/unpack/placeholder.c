/* placeholder until the unpacker lands */
int mctr_unpack_placeholder_(void);
int mctr_unpack_placeholder_(void) { return 0; }
