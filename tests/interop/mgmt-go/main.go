// SPDX-License-Identifier: MIT
// A management client built on Debian's golang-github-apparentlymart-go-openvpn-mgmt (someone
// else's implementation of the client side of openvpn's management protocol), for
// tests/interop/gateway-mgmt.sh. It connects, reads the pid and the state, turns on state and
// bytecount events, releases the hold (management-hold), waits for byte counts of a client, then
// sends SIGUSR2. Each step prints one "ok ..." line; any error exits 1.
//
//	mgmt-go ADDR   (host:port, or /path of a unix socket)
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/apparentlymart/go-openvpn-mgmt/openvpn"
)

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: mgmt-go ADDR")
	}
	events := make(chan openvpn.Event, 64)
	c, err := openvpn.Dial(os.Args[1], events)
	if err != nil {
		fail("dial: %v", err)
	}
	pid, err := c.Pid()
	if err != nil || pid <= 0 {
		fail("pid: %v %d", err, pid)
	}
	fmt.Printf("ok pid %d\n", pid)
	st, err := c.LatestState()
	if err != nil {
		fail("state: %v", err)
	}
	fmt.Printf("ok state %s local %s\n", st.NewState(), st.LocalTunnelAddr())
	if err := c.SetStateEvents(true); err != nil {
		fail("state on: %v", err)
	}
	if err := c.SetByteCountEvents(1 * time.Second); err != nil {
		fail("bytecount: %v", err)
	}
	fmt.Println("ok events on")
	if err := c.HoldRelease(); err != nil {
		fail("hold release: %v", err)
	}
	fmt.Println("ok hold released")
	deadline := time.After(40 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				fail("event channel closed")
			}
			if bc, is := e.(*openvpn.ByteCountEvent); is && bc.ClientId() != "" && bc.BytesIn() > 0 && bc.BytesOut() > 0 {
				fmt.Printf("ok bytecount client %s in %d out %d\n", bc.ClientId(), bc.BytesIn(), bc.BytesOut())
				if err := c.SendSignal("SIGUSR2"); err != nil {
					fail("signal: %v", err)
				}
				fmt.Println("ok signal SIGUSR2")
				return
			}
		case <-deadline:
			fail("no >BYTECOUNT_CLI with traffic within 40 s")
		}
	}
}
