// SPDX-License-Identifier: MIT
// A management client built on Debian's golang-github-apparentlymart-go-openvpn-mgmt (someone
// else's implementation of the client side of openvpn's management protocol), for
// tests/interop/gateway-mgmt.sh and gateway-client.sh. It connects, reads the pid and the state,
// turns on state and bytecount events, releases the hold (management-hold), waits for byte counts
// of a client, then sends SIGUSR2. Each step prints one "ok ..." line; any error exits 1.
// With -client (an openvpn client's interface, held before it connects): no state is read first;
// after the hold release it waits for the CONNECTED state event and the client's own byte counts
// (>BYTECOUNT:in,out) instead.
//
//	mgmt-go [-client] ADDR   (host:port, or /path of a unix socket)
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
	args := os.Args[1:]
	clientMode := len(args) == 2 && args[0] == "-client"
	if clientMode {
		args = args[1:]
	}
	if len(args) != 1 {
		fail("usage: mgmt-go [-client] ADDR")
	}
	events := make(chan openvpn.Event, 64)
	c, err := openvpn.Dial(args[0], events)
	if err != nil {
		fail("dial: %v", err)
	}
	pid, err := c.Pid()
	if err != nil || pid <= 0 {
		fail("pid: %v %d", err, pid)
	}
	fmt.Printf("ok pid %d\n", pid)
	if clientMode {
		clientSteps(c, events)
		return
	}
	st, err := c.LatestState()
	if err != nil {
		fail("state: %v", err)
	}
	fmt.Printf("ok state %s local %s\n", st.NewState(), st.LocalTunnelAddr())
	eventsOnAndRelease(c)
	awaitEvents(events, "no >BYTECOUNT_CLI with traffic within 40 s", func(e openvpn.Event) bool {
		bc, is := e.(*openvpn.ByteCountEvent)
		if !is || bc.ClientId() == "" || bc.BytesIn() == 0 || bc.BytesOut() == 0 {
			return false
		}
		fmt.Printf("ok bytecount client %s in %d out %d\n", bc.ClientId(), bc.BytesIn(), bc.BytesOut())
		return true
	})
	sigusr2(c)
}

// State and byte-count events on (every second), then the hold released.
func eventsOnAndRelease(c *openvpn.MgmtClient) {
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
}

// Events until done(e) says so, for at most 40 s (then fail with why).
func awaitEvents(events chan openvpn.Event, why string, done func(openvpn.Event) bool) {
	deadline := time.After(40 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				fail("event channel closed")
			}
			if done(e) {
				return
			}
		case <-deadline:
			fail("%s", why)
		}
	}
}

func sigusr2(c *openvpn.MgmtClient) {
	if err := c.SendSignal("SIGUSR2"); err != nil {
		fail("signal: %v", err)
	}
	fmt.Println("ok signal SIGUSR2")
}

// The client's sequence: events on, hold release, CONNECTED with its tunnel address, its own
// byte counts with traffic both ways, SIGUSR2.
func clientSteps(c *openvpn.MgmtClient, events chan openvpn.Event) {
	eventsOnAndRelease(c)
	connected := false
	awaitEvents(events, "no CONNECTED state and >BYTECOUNT with traffic within 40 s", func(e openvpn.Event) bool {
		if st, is := e.(*openvpn.StateEvent); is && st.NewState() == "CONNECTED" && !connected {
			connected = true
			fmt.Printf("ok state CONNECTED local %s\n", st.LocalTunnelAddr())
		}
		bc, is := e.(*openvpn.ByteCountEvent)
		if !is || !connected || bc.ClientId() != "" || bc.BytesIn() == 0 || bc.BytesOut() == 0 {
			return false
		}
		fmt.Println("ok bytecount in and out")
		return true
	})
	sigusr2(c)
}
