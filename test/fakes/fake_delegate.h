/* The delegate the fake libedgetpu hands out; the fake TFLite library recognises it by its magic. */
#pragma once
#define FAKE_DELEGATE_MAGIC "FAKEETPU"
struct fake_delegate {
  char magic[8];
  int type; /* 0 = pci, 1 = usb, as edgetpu_device_type */
  char path[256];
};
